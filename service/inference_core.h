#ifndef INFERD_SERVICE_INFERENCE_CORE_H_
#define INFERD_SERVICE_INFERENCE_CORE_H_

#include <atomic>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/protocol.h"
#include "common/task_runner.h"
#include "metrics/metrics.h"
#include "model_store/model_repository.h"
#include "proto/inference.pb.h"

namespace inferd {

inline constexpr char kServerVersion[] = "0.1.0";
// The protocol extensions inferd implements, as ServerMetadata lists them.
inline constexpr const char* kServerExtensions[] = {
    "classification", "model_configuration", "model_repository",
    "statistics",     "binary_tensor_data",  "schedule_policy"};

// What the gRPC and HTTP front ends share: every call of the v2 protocol
// over the repository, on the protocol's own request and response messages
// (the HTTP front end translates JSON to and from them), so that both
// protocols validate, batch, count and answer alike. Access checks belong to
// the front ends. Thread-safe.
class InferenceCore {
 public:
  // `repository` and `metrics` (null: no metrics) must outlive the core.
  InferenceCore(ModelRepository* repository, metrics::ServerMetrics* metrics)
      : repository_(repository), metrics_(metrics) {}

  // False while draining (see StartDraining()), else whether every model is
  // ready; with strict readiness off, whether the start-up load has
  // finished, whatever the models' states.
  bool ServerReady() const {
    if (draining_.load(std::memory_order_relaxed)) return false;
    return strict_readiness_.load(std::memory_order_relaxed)
               ? repository_->AllReady()
               : repository_->Started();
  }
  // Triton's --strict-readiness (default true).
  void SetStrictReadiness(bool strict) {
    strict_readiness_.store(strict, std::memory_order_relaxed);
  }
  // From now on the server reports itself not ready (health, readiness)
  // while it keeps serving every call: the notice that lets load balancers
  // and Kubernetes endpoints stop sending before it stops taking calls.
  void StartDraining() { draining_.store(true, std::memory_order_relaxed); }
  bool ModelReady(const std::string& name, const std::string& version) const {
    return repository_->Get(name, version).ok();
  }
  void ServerMetadata(inference::ServerMetadataResponse* out) const;
  absl::Status ModelMetadata(const inference::ModelMetadataRequest& request,
                             inference::ModelMetadataResponse* out) const;
  absl::Status ModelConfig(const inference::ModelConfigRequest& request,
                           inference::ModelConfigResponse* out) const;
  absl::Status ModelStatistics(const inference::ModelStatisticsRequest& request,
                               inference::ModelStatisticsResponse* out) const;
  void RepositoryIndex(const inference::RepositoryIndexRequest& request,
                       inference::RepositoryIndexResponse* out) const;
  // Loading takes long: it runs on the load thread, which calls `done`.
  void RepositoryModelLoad(const inference::RepositoryModelLoadRequest& request,
                           std::function<void(absl::Status)> done);
  absl::Status RepositoryModelUnload(
      const inference::RepositoryModelUnloadRequest& request);

  // Where an inference call came from, for its accounting and its end.
  struct Call {
    absl::Time start;  // receipt
    Protocol protocol = Protocol::kGrpc;
    absl::Time deadline = absl::InfiniteFuture();
    // Set by the transport when the caller gives up; may be null.
    const std::atomic<bool>* cancelled = nullptr;
  };
  // Infers `request`, which must outlive the answer: `done` is called once,
  // before Infer returns or later from a model's worker. Every call is
  // counted in the statistics and metrics, refused ones too.
  void Infer(const inference::ModelInferRequest& request, const Call& call,
             InferCallback done);

  // Counts a call refused before it reached a model version (e.g. by an
  // access check).
  void CountUnresolved(const std::string& model, const absl::Status& status,
                       const Call& call);

 private:
  ModelRepository* const repository_;
  metrics::ServerMetrics* const metrics_;
  std::atomic<bool> draining_{false};
  std::atomic<bool> strict_readiness_{true};
  // Model loads requested by RPC run here, not on the transports' threads.
  // Declared last: destroyed (finishing queued loads) first.
  TaskRunner loads_;
};

}  // namespace inferd

#endif  // INFERD_SERVICE_INFERENCE_CORE_H_
