#include "tools/bench_load.h"

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <utility>

#include "tools/bench_stream.h"

namespace inferd::bench {
namespace {

// One client thread's share of a level: `slots` calls kept in flight on its
// own completion queue until the window ends. Used by one thread only.
class Worker {
 public:
  Worker(inference::GRPCInferenceService::Stub* stub,
         const inference::ModelInferRequest* request, int slots,
         const Window& window, absl::Duration rpc_timeout)
      : stub_(stub),
        request_(request),
        calls_(static_cast<size_t>(slots)),
        window_(window),
        rpc_timeout_(absl::ToChronoNanoseconds(rpc_timeout)) {}

  // Sends on every slot and resends on each completion until the window
  // ends, then drains. Blocks.
  void Run();

  // Hands over what Run() recorded. REQUIRES: Run() has returned.
  Samples TakeSamples() { return std::move(samples_); }

 private:
  // One outstanding call. The context is single-use, so each send makes a
  // new one; the response message is reused.
  struct Call {
    std::unique_ptr<grpc::ClientContext> context;
    std::unique_ptr<
        grpc::ClientAsyncResponseReader<inference::ModelInferResponse>>
        reader;
    inference::ModelInferResponse response;
    grpc::Status status;
    SteadyClock::time_point sent;
  };

  void Send(Call* call);
  void Record(const Call& call, SteadyClock::time_point done);

  inference::GRPCInferenceService::Stub* const stub_;
  const inference::ModelInferRequest* const request_;
  std::vector<Call> calls_;
  const Window window_;
  const std::chrono::nanoseconds rpc_timeout_;
  grpc::CompletionQueue cq_;
  Samples samples_;
};

void Worker::Send(Call* call) {
  call->context = std::make_unique<grpc::ClientContext>();
  call->context->set_deadline(std::chrono::system_clock::now() + rpc_timeout_);
  call->sent = SteadyClock::now();
  call->reader =
      stub_->PrepareAsyncModelInfer(call->context.get(), *request_, &cq_);
  call->reader->StartCall();
  call->reader->Finish(&call->response, &call->status, call);
}

void Worker::Record(const Call& call, SteadyClock::time_point done) {
  if (done < window_.start || done >= window_.end) {
    return;
  }
  if (call.status.ok()) {
    samples_.latency_ms.push_back(
        std::chrono::duration<double, std::milli>(done - call.sent).count());
    return;
  }
  const std::string code = StatusCodeName(call.status.error_code());
  ++samples_.errors[code];
  samples_.first_error.emplace(code, call.status.error_message());
}

void Worker::Run() {
  for (Call& call : calls_) {
    Send(&call);
  }
  size_t outstanding = calls_.size();
  void* tag = nullptr;
  bool ok = false;
  while (outstanding > 0 && cq_.Next(&tag, &ok)) {
    // A client unary Finish always completes with ok == true; the outcome
    // is in the call's status.
    Call* call = static_cast<Call*>(tag);
    const SteadyClock::time_point done = SteadyClock::now();
    Record(*call, done);
    if (done < window_.end) {
      Send(call);
    } else {
      --outstanding;
    }
  }
  cq_.Shutdown();
  while (cq_.Next(&tag, &ok)) {
  }
}

// Part `i` of `total` split into `parts`; the remainder is spread so parts
// differ by at most one.
int Share(int total, int parts, int i) {
  return total / parts + (i < total % parts ? 1 : 0);
}

// Runs every worker on a thread of its own and merges what they recorded.
template <typename W>
Samples RunWorkers(const std::vector<std::unique_ptr<W>>& workers) {
  std::vector<std::thread> running;
  running.reserve(workers.size());
  for (auto& worker : workers) {
    running.emplace_back([w = worker.get()] { w->Run(); });
  }
  for (std::thread& thread : running) {
    thread.join();
  }

  Samples samples;
  for (auto& worker : workers) {
    samples.Merge(worker->TakeSamples());
  }
  return samples;
}

}  // namespace

std::string StatusCodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::UNKNOWN:
      return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
      return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS:
      return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    default:
      return "CODE_" + std::to_string(static_cast<int>(code));
  }
}

LoadDriver::LoadDriver(
    const std::vector<std::shared_ptr<grpc::Channel>>& channels,
    const inference::ModelInferRequest* request)
    : request_(request) {
  for (const auto& channel : channels) {
    stubs_.push_back(inference::GRPCInferenceService::NewStub(channel));
  }
}

Samples LoadDriver::RunLevel(const LoadOptions& options) {
  const SteadyClock::time_point now = SteadyClock::now();
  Window window;
  window.start = now + absl::ToChronoNanoseconds(options.warmup);
  window.end = window.start + absl::ToChronoNanoseconds(options.duration);

  if (options.streams > 0) {
    const int streams = std::min(options.streams, options.concurrency);
    const int threads = std::min(streams, static_cast<int>(stubs_.size()));
    // Stream s runs on thread s % threads.
    std::vector<std::vector<int>> slots(threads);
    for (int s = 0; s < streams; ++s) {
      slots[s % threads].push_back(Share(options.concurrency, streams, s));
    }
    std::vector<std::unique_ptr<StreamWorker>> workers;
    workers.reserve(static_cast<size_t>(threads));
    for (int i = 0; i < threads; ++i) {
      workers.push_back(std::make_unique<StreamWorker>(
          stubs_[i].get(), request_, slots[i], window, options.rpc_timeout));
    }
    return RunWorkers(workers);
  }

  const int threads =
      std::min(options.concurrency, static_cast<int>(stubs_.size()));
  std::vector<std::unique_ptr<Worker>> workers;
  workers.reserve(static_cast<size_t>(threads));
  for (int i = 0; i < threads; ++i) {
    workers.push_back(std::make_unique<Worker>(
        stubs_[i].get(), request_, Share(options.concurrency, threads, i),
        window, options.rpc_timeout));
  }
  return RunWorkers(workers);
}

}  // namespace inferd::bench
