// inferd: serves the TorchScript models of a model repository over the
// KServe v2 / Open Inference Protocol gRPC API.

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "batching/worker_pool.h"
#include "common/flags_util.h"
#include "common/logging.h"
#include "common/stop_signals.h"
#include "common/thread_scheduling.h"
#include "common/usable_cpus.h"
#include "metrics/exporter.h"
#include "metrics/metrics.h"
#include "model_store/backends/torch_loader.h"
#include "model_store/model_repository.h"
#include "service/server.h"

ABSL_FLAG(std::string, model_repository, "",
          "Model repository directory (Triton layout). Required.");
ABSL_FLAG(std::string, host, "127.0.0.1", "Address the server binds.");
ABSL_FLAG(int, grpc_port, 8001, "gRPC port; 0 picks a free port.");
ABSL_FLAG(int, metrics_port, 8002,
          "Prometheus metrics on http://HOST:PORT/metrics; 0 picks a free "
          "port (printed in the log).");
ABSL_FLAG(bool, allow_metrics, true,
          "Serve Prometheus metrics (--allow-metrics=false turns them off).");
ABSL_FLAG(std::string, model_control_mode, "none",
          "none: load every model at start-up and never change; poll: also "
          "rescan the repository every --repository-poll-secs; explicit: load "
          "only --load-model models, then RepositoryModelLoad/Unload.");
ABSL_FLAG(int, repository_poll_secs, 15,
          "Poll mode: seconds between repository scans.");
ABSL_FLAG(std::vector<std::string>, load_model, {},
          "Explicit mode: models to load at start-up (repeatable or "
          "comma-separated; * for all).");
ABSL_FLAG(int, intra_op_threads, 1,
          "LibTorch intra-op threads (one operator split across threads). "
          "Default 1: on a small machine, workers (instance_group count) and "
          "gRPC need the cores, and more threads per operator oversubscribe "
          "them (see bench/README.md). 0 keeps LibTorch's default (one per "
          "core). A model's INTRA_OP_THREAD_COUNT parameter overrides it.");
ABSL_FLAG(bool, batch_class_io_threads, true,
          "Run gRPC's and other non-model threads in Linux's SCHED_BATCH "
          "class, model workers in the default class, so that a request "
          "arriving mid-batch does not preempt the worker running the batch "
          "(+22-34% throughput on a busy core, bench/README.md). CPU shares "
          "are unchanged; no privilege needed. false: every thread in the "
          "default class.");
ABSL_FLAG(std::string, worker_pool, "shared",
          "shared: one pool of model workers per device, shared fairly by "
          "every model version (each still runs at most instance_group count "
          "batches at once); per-version: each version has one worker per "
          "instance (more models than cores oversubscribe the machine).");
ABSL_FLAG(int, worker_threads, 0,
          "Workers of the shared CPU pool; 0: the CPUs this process may use "
          "(its affinity mask and cgroup CPU quota).");
ABSL_FLAG(int, gpu_worker_threads, 4,
          "Workers of each GPU's shared pool (they launch work on CUDA "
          "streams and wait for it).");
ABSL_FLAG(int, inter_op_threads, 1,
          "LibTorch inter-op threads (TorchScript fork/wait). Default 1; 0 "
          "keeps LibTorch's default.");

namespace {

// Creates the repository per the control-mode flags and loads what they ask.
absl::StatusOr<std::unique_ptr<inferd::ModelRepository>> StartRepository(
    const std::string& root, inferd::metrics::ServerMetrics* metrics,
    inferd::ModelLoader* loader, inferd::batching::WorkerPools* pools) {
  inferd::ModelRepository::Options options;
  options.root = root;
  options.metrics = metrics;
  options.pools = pools;
  const std::string mode = absl::GetFlag(FLAGS_model_control_mode);
  if (mode == "poll") {
    options.mode = inferd::ControlMode::kPoll;
  } else if (mode == "explicit") {
    options.mode = inferd::ControlMode::kExplicit;
  } else if (mode != "none") {
    return absl::InvalidArgumentError(absl::StrCat(
        "--model-control-mode=", mode, ": expected none, poll or explicit"));
  }
  options.poll_interval =
      absl::Seconds(absl::GetFlag(FLAGS_repository_poll_secs));
  auto repository = inferd::ModelRepository::Create(options, loader);
  if (!repository.ok()) return repository.status();
  const std::vector<std::string> wanted = absl::GetFlag(FLAGS_load_model);
  const bool all = options.mode != inferd::ControlMode::kExplicit ||
                   std::find(wanted.begin(), wanted.end(), "*") != wanted.end();
  if (all) {
    const int ready = (*repository)->LoadAll();
    inferd::LogInfo(ready, " model(s) ready from ", root, " (", mode,
                    " model control)");
  } else {
    for (const std::string& name : wanted) {
      (*repository)->LoadModel(name).IgnoreError();  // logged by the repository
    }
    (*repository)->MarkStarted();
  }
  return repository;
}

// Runs the server until a stop signal; returns the exit code.
int Serve(const std::string& root, const sigset_t& stop_signals) {
  const std::string host = absl::GetFlag(FLAGS_host);
  inferd::metrics::ServerMetrics all_metrics;
  // Null when metrics are off: then nothing on the request path records.
  inferd::metrics::ServerMetrics* metrics = nullptr;
  std::unique_ptr<inferd::metrics::MetricsExporter> exporter;
  if (absl::GetFlag(FLAGS_allow_metrics)) {
    metrics = &all_metrics;
    auto started = inferd::metrics::MetricsExporter::Start(
        host, absl::GetFlag(FLAGS_metrics_port), metrics);
    if (!started.ok()) {
      inferd::LogError(started.status().message());
      return 1;
    }
    exporter = std::move(*started);
    inferd::LogInfo("metrics on http://", host, ":", exporter->port(),
                    "/metrics");
  }

  // Before the repository, which must not outlive them.
  std::unique_ptr<inferd::batching::WorkerPools> pools;
  const std::string pool_mode = absl::GetFlag(FLAGS_worker_pool);
  if (pool_mode == "shared") {
    int threads = absl::GetFlag(FLAGS_worker_threads);
    if (threads <= 0) threads = inferd::UsableCpus();
    pools = std::make_unique<inferd::batching::WorkerPools>(
        threads, std::max(1, absl::GetFlag(FLAGS_gpu_worker_threads)),
        inferd::RealClock());
    inferd::LogInfo("model workers: one shared pool per device, ", threads,
                    " on the CPU");
  } else if (pool_mode != "per-version") {
    inferd::LogError("--worker-pool=", pool_mode,
                     ": expected shared or per-version");
    return 2;
  }
  inferd::TorchModelLoader loader;
  absl::StatusOr<std::unique_ptr<inferd::ModelRepository>> repository =
      StartRepository(root, metrics, &loader, pools.get());
  if (!repository.ok()) {
    inferd::LogError(repository.status().message());
    return 2;
  }

  inferd::ServerOptions options;
  options.host = host;
  options.grpc_port = absl::GetFlag(FLAGS_grpc_port);
  auto server =
      inferd::InferenceServer::Start(options, repository->get(), metrics);
  if (!server.ok()) {
    inferd::LogError(server.status().message());
    return 1;
  }
  inferd::LogInfo("listening for gRPC on ", host, ":", (*server)->port());

  const int signal = inferd::WaitForStopSignal(stop_signals);
  inferd::LogInfo("signal ", signal, ": shutting down");
  (*server)->Shutdown();
  server->reset();
  repository->reset();
  inferd::LogInfo("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "inferd --model-repository=DIR [--grpc-port=8001] [--host=127.0.0.1]");
  inferd::ParseFlagsAllowingDashes(argc, argv);
  const std::string root = absl::GetFlag(FLAGS_model_repository);
  if (root.empty()) {
    std::fprintf(stderr, "inferd: --model-repository=DIR is required\n");
    return 2;
  }
  // Debian's Abseil checks every Mutex acquisition for lock-order cycles; on
  // the request path that cost ~2% of the server's CPU (perf, bench/README.md).
  // The tests (built the same way) keep the check on.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  const sigset_t stop_signals = inferd::BlockStopSignals();
  // Before any thread starts, so that they all inherit the class.
  if (absl::GetFlag(FLAGS_batch_class_io_threads)) {
    if (absl::Status s = inferd::RunInBatchClass(); !s.ok()) {
      inferd::LogWarning("--batch-class-io-threads: ", s.message(),
                         "; all threads stay in the default class");
    }
  }
  inferd::ConfigureTorchThreads(absl::GetFlag(FLAGS_intra_op_threads),
                                absl::GetFlag(FLAGS_inter_op_threads));
  return Serve(root, stop_signals);
}
