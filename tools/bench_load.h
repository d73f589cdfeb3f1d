#ifndef INFERD_TOOLS_BENCH_LOAD_H_
#define INFERD_TOOLS_BENCH_LOAD_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "proto/inference.grpc.pb.h"
#include "tools/bench_stats.h"

namespace inferd::bench {

// One closed-loop level.
struct LoadOptions {
  // Requests outstanding at all times: each completion sends the next.
  // Must be > 0.
  int concurrency = 1;
  // Sent and completed but not recorded, before the measured window.
  // 0: measure from the first request.
  absl::Duration warmup = absl::Seconds(2);
  // Length of the measured window; must be > 0. Requests completing in it
  // are recorded, whenever they were sent.
  absl::Duration duration = absl::Seconds(10);
  // Deadline of each call, from its send.
  absl::Duration rpc_timeout = absl::Seconds(30);
  // 0: every request is a ModelInfer call. N > 0: requests travel on N
  // ModelStreamInfer streams (at most one per outstanding request), spread
  // over the client threads, the concurrency split across them.
  int streams = 0;
};

// Returns the canonical name of a gRPC status code ("UNAVAILABLE").
std::string StatusCodeName(grpc::StatusCode code);

// A closed-loop load on one protocol.
class Driver {
 public:
  virtual ~Driver() = default;
  // Runs one level: sends until the measured window ends, then waits for
  // every outstanding call before it returns what completed inside the
  // window. Blocks for about warmup + duration.
  virtual Samples RunLevel(const LoadOptions& options) = 0;
};

// Drives ModelInfer (or ModelStreamInfer, see LoadOptions::streams) against a
// server in a closed loop. Each client thread has its own channel and
// completion queue; a level's concurrency slots are split across them
// (threads beyond the concurrency stay idle).
// Thread-compatible: RunLevel() must not be called concurrently with itself.
class LoadDriver final : public Driver {
 public:
  // `channels`: one per client thread, non-empty. `request` is sent by every
  // call and must outlive the driver.
  LoadDriver(const std::vector<std::shared_ptr<grpc::Channel>>& channels,
             const inference::ModelInferRequest* request);

  // Runs one level: starts the threads, sends until the measured window ends,
  // then waits for every outstanding call (at most rpc_timeout) before it
  // returns what completed inside the window. Blocks for about
  // warmup + duration.
  Samples RunLevel(const LoadOptions& options) override;

 private:
  std::vector<std::unique_ptr<inference::GRPCInferenceService::Stub>> stubs_;
  const inference::ModelInferRequest* request_;
};

}  // namespace inferd::bench

#endif  // INFERD_TOOLS_BENCH_LOAD_H_
