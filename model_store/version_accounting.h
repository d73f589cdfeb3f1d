#ifndef INFERD_MODEL_STORE_VERSION_ACCOUNTING_H_
#define INFERD_MODEL_STORE_VERSION_ACCOUNTING_H_

#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "metrics/metrics.h"
#include "model_store/request_observer.h"

namespace inferd {

// Cumulative figures of one model version, for the ModelStatistics RPC.
struct ServableStatistics {
  uint64_t success_count = 0, success_ns = 0;  // answered OK, end to end
  uint64_t fail_count = 0, fail_ns = 0;        // answered with an error
  uint64_t queue_count = 0, queue_ns = 0;      // time waiting in the queue
  // Per request, its batch's time to gather inputs and to run the model
  // (both counted in compute_count), and its own time to encode outputs.
  uint64_t compute_count = 0, compute_input_ns = 0, compute_ns = 0;
  uint64_t compute_output_count = 0, compute_output_ns = 0;
  uint64_t inference_count = 0;    // rows inferred
  uint64_t execution_count = 0;    // batches executed
  uint64_t last_inference_ms = 0;  // Unix ms of the last batch
};

// Feeds every request stage to both places that count it: the figures
// ModelStatistics answers with, and the version's Prometheus metrics (when
// it has them). Thread-safe.
class VersionAccounting final : public RequestObserver {
 public:
  // `metrics` may be null (metrics off); it must outlive this object.
  explicit VersionAccounting(metrics::ModelVersionMetrics* metrics)
      : metrics_(metrics) {}

  void OnQueueDepth(size_t depth) override;
  void OnDequeued(absl::Duration queued) override;
  void OnBatchDone(int64_t requests, int64_t rows, absl::Duration input,
                   absl::Duration compute, bool ok, absl::Time end) override;
  void OnOutput(absl::Duration output) override;
  void OnAnswered(Protocol protocol, absl::StatusCode code,
                  absl::Duration total) override;

  // A consistent copy of the figures so far.
  ServableStatistics statistics() const;

 private:
  metrics::ModelVersionMetrics* const metrics_;  // may be null
  mutable absl::Mutex mu_;
  ServableStatistics stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace inferd

#endif  // INFERD_MODEL_STORE_VERSION_ACCOUNTING_H_
