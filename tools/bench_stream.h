#ifndef INFERD_TOOLS_BENCH_STREAM_H_
#define INFERD_TOOLS_BENCH_STREAM_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <deque>
#include <memory>
#include <vector>

#include "absl/time/time.h"
#include "proto/inference.grpc.pb.h"
#include "tools/bench_stats.h"

namespace inferd::bench {

using SteadyClock = std::chrono::steady_clock;

// Where a level's measured window lies: requests completing in it are
// recorded.
struct Window {
  SteadyClock::time_point start;
  SteadyClock::time_point end;
};

// One client thread's share of a streaming level: ModelStreamInfer streams
// on its own completion queue, each keeping its number of requests
// outstanding (every answer read sends the next) until the window ends; then
// each half-closes once its last answer is in. Latency is from the start of
// a request's write to the read of its answer (answers come in request
// order). An answer with error_message counts as error "STREAM_ERROR"; a
// stream that ends with a status other than OK counts its unanswered
// requests under that status's code. Used by one thread only.
class StreamWorker {
 public:
  // `slots`: requests outstanding on each stream (one stream per entry,
  // each > 0). `request` must outlive the worker.
  StreamWorker(inference::GRPCInferenceService::Stub* stub,
               const inference::ModelInferRequest* request,
               const std::vector<int>& slots, const Window& window,
               absl::Duration rpc_timeout);
  ~StreamWorker();

  // Opens the streams, sends until the window ends, then drains and
  // finishes them. Blocks.
  void Run();

  // Hands over what Run() recorded. REQUIRES: Run() has returned.
  Samples TakeSamples() { return std::move(samples_); }

 private:
  struct Stream;
  enum class Op { kStart, kRead, kWrite, kWritesDone, kFinish };
  struct Tag {
    Stream* stream;
    Op op;
  };

  // Handles one completion; returns false when its stream has finished.
  bool Handle(const Tag& tag, bool ok);
  // Writes the stream's next request if one is due, or half-closes it once
  // the window has ended and every answer is in.
  void Send(Stream* stream);
  void Record(Stream* stream, const inference::ModelStreamInferResponse* answer,
              SteadyClock::time_point sent, SteadyClock::time_point done);

  inference::GRPCInferenceService::Stub* const stub_;
  const inference::ModelInferRequest* const request_;
  const Window window_;
  const std::chrono::nanoseconds rpc_timeout_;
  grpc::CompletionQueue cq_;
  std::vector<std::unique_ptr<Stream>> streams_;
  Samples samples_;
};

}  // namespace inferd::bench

#endif  // INFERD_TOOLS_BENCH_STREAM_H_
