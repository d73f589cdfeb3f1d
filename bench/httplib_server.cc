// inferd-httplib-bench-server: inferd's REST API served by cpp-httplib's
// httplib::Server instead of GNU libmicrohttpd, to measure the two libraries
// against each other (bench/http.sh with SERVERS=microhttpd,httplib). A
// benchmark comparison server, not a product: behind the library it is
// inferd's own HttpApi (same routes, codec, InferenceCore, repository, shared
// worker pool, batching and thread classes as inferd's defaults); it serves
// HTTP only (no gRPC, metrics endpoint, TLS or access control).
//
// cpp-httplib is synchronous: each connection is served by one thread of its
// pool, which here waits for the answer of the request it read before it
// reads the connection's next one.
//
//   build/bin/inferd-httplib-bench-server --model-repository=DIR --port=0
//   ... --threads=128 --keep-alive-max-count=1000000 --listen-backlog=4096
//       --tcp-nodelay

#include <httplib.h>
#include <sys/socket.h>

#include <csignal>
#include <cstdio>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "absl/flags/flag.h"
#include "absl/flags/usage.h"
#include "absl/strings/ascii.h"
#include "absl/synchronization/mutex.h"
#include "batching/worker_pool.h"
#include "common/clock.h"
#include "common/flags_util.h"
#include "common/logging.h"
#include "common/stop_signals.h"
#include "common/thread_scheduling.h"
#include "common/usable_cpus.h"
#include "http/http_server.h"
#include "metrics/metrics.h"
#include "model_store/backends/torch_loader.h"
#include "model_store/model_repository.h"
#include "service/http_api.h"
#include "service/inference_core.h"

ABSL_FLAG(std::string, model_repository, "",
          "Model repository directory (Triton layout). Required.");
ABSL_FLAG(std::string, host, "127.0.0.1", "Address to bind.");
ABSL_FLAG(int, port, 0, "HTTP port; 0 picks a free port (logged).");
ABSL_FLAG(int, threads, 0,
          "Threads of httplib's pool, each serving one connection at a time; "
          "0: httplib's default (CPPHTTPLIB_THREAD_POOL_COUNT, max(8, cores "
          "- 1)).");
ABSL_FLAG(int, keep_alive_max_count, 0,
          "Requests per connection before httplib closes it; 0: httplib's "
          "default (CPPHTTPLIB_KEEPALIVE_MAX_COUNT, 5).");
ABSL_FLAG(int, listen_backlog, 0,
          "Backlog of the listening socket; 0: httplib's "
          "(CPPHTTPLIB_LISTEN_BACKLOG, 5), which a burst of new connections "
          "overflows (the kernel then drops their handshakes).");
ABSL_FLAG(bool, tcp_nodelay, false,
          "Set TCP_NODELAY on accepted connections (httplib's default: "
          "off).");

namespace inferd {
namespace {

// inferd's defaults (service/main.cc), which the comparison must share.
constexpr size_t kMaxBodyBytes = 64 << 20;  // --http-max-input-size
constexpr int kGpuWorkerThreads = 4;        // --gpu-worker-threads

// The answer of one request, handed from whichever thread answers to the
// httplib thread that waits for it.
class WaitingSink final : public http::ReplySink {
 public:
  void Answer(http::Response response) override {
    answer_.set_value(std::move(response));
  }
  std::future<http::Response> answer() { return answer_.get_future(); }

 private:
  std::promise<http::Response> answer_;
};

// Serves one request with `api` on the calling (httplib) thread, which
// waits for the answer.
void Serve(HttpApi* api, const httplib::Request& in, httplib::Response& out) {
  http::Request request;
  request.method = in.method;
  request.path = in.path;  // decoded, without the query, as http::Request
  for (const auto& [name, value] : in.headers) {
    request.headers[absl::AsciiStrToLower(name)] = value;
  }
  request.body = in.body;
  auto sink = std::make_shared<WaitingSink>();
  std::future<http::Response> answer = sink->answer();
  api->Handle(request, http::Reply(std::move(sink)));
  http::Response response = answer.get();
  out.status = response.status;
  for (const auto& [name, value] : response.headers) {
    out.set_header(name, value);
  }
  out.body = std::move(response.body);
  out.set_header("Content-Type", response.content_type);
}

int Run(const std::string& root, const sigset_t& stop_signals) {
  metrics::ServerMetrics metrics;
  // Before the repository, which must not outlive them.
  batching::WorkerPools pools(UsableCpus(), kGpuWorkerThreads, RealClock());
  TorchModelLoader loader;
  ModelRepository::Options options;
  options.root = root;
  options.metrics = &metrics;
  options.pools = &pools;
  absl::StatusOr<std::unique_ptr<ModelRepository>> repository =
      ModelRepository::Create(options, &loader);
  if (!repository.ok()) {
    LogError(repository.status().message());
    return 2;
  }
  LogInfo((*repository)->LoadAll(), " model(s) ready from ", root);
  InferenceCore core(repository->get(), &metrics);
  HttpApi api(&core, /*access=*/nullptr);

  const int threads = absl::GetFlag(FLAGS_threads);
  httplib::Server server;
  if (threads > 0) {
    server.new_task_queue = [threads] {
      return new httplib::ThreadPool(static_cast<size_t>(threads));
    };
  }
  if (const int count = absl::GetFlag(FLAGS_keep_alive_max_count); count > 0) {
    server.set_keep_alive_max_count(static_cast<size_t>(count));
  }
  server.set_tcp_nodelay(absl::GetFlag(FLAGS_tcp_nodelay));
  server.set_payload_max_length(kMaxBodyBytes);
  int listener = -1;
  server.set_socket_options([&listener](socket_t sock) {
    httplib::default_socket_options(sock);
    listener = sock;
  });
  const auto handler = [&api](const httplib::Request& in,
                              httplib::Response& out) { Serve(&api, in, out); };
  server.Get(".*", handler)
      .Post(".*", handler)
      .Put(".*", handler)
      .Patch(".*", handler)
      .Delete(".*", handler)
      .Options(".*", handler);
  const std::string host = absl::GetFlag(FLAGS_host);
  const int port = absl::GetFlag(FLAGS_port);
  const int bound = port == 0 ? server.bind_to_any_port(host)
                              : (server.bind_to_port(host, port) ? port : -1);
  if (bound <= 0) {
    LogError("cannot serve HTTP on ", host, ":", port);
    return 1;
  }
  // httplib has no backlog setting; listen() again on a listening socket
  // only changes its backlog.
  if (const int backlog = absl::GetFlag(FLAGS_listen_backlog);
      backlog > 0 && ::listen(listener, backlog) != 0) {
    LogError("--listen-backlog=", backlog, ": listen() failed");
    return 1;
  }
  std::thread listening([&server] { server.listen_after_bind(); });
  LogInfo(
      "listening for HTTP (cpp-httplib ", CPPHTTPLIB_VERSION, ", ",
      threads > 0 ? threads : static_cast<int>(CPPHTTPLIB_THREAD_POOL_COUNT),
      " threads) on ", host, ":", bound);
  WaitForStopSignal(stop_signals);
  server.stop();
  listening.join();
  return 0;
}

}  // namespace
}  // namespace inferd

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "inferd-httplib-bench-server --model-repository=DIR [--port=0] "
      "[--threads=0] [--keep-alive-max-count=0] [--listen-backlog=0] "
      "[--tcp-nodelay]");
  inferd::ParseFlagsAllowingDashes(argc, argv);
  const std::string root = absl::GetFlag(FLAGS_model_repository);
  if (root.empty()) {
    std::fprintf(stderr,
                 "inferd-httplib-bench-server: --model-repository=DIR is "
                 "required\n");
    return 2;
  }
  // As inferd's main(), so that only the HTTP library differs.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  const sigset_t stop_signals = inferd::BlockStopSignals();
  if (absl::Status s = inferd::RunInBatchClass(); !s.ok()) {
    inferd::LogWarning("SCHED_BATCH: ", s.message());
  }
  inferd::ConfigureTorchThreads(/*intra_op=*/1, /*inter_op=*/1);
  return inferd::Run(root, stop_signals);
}
