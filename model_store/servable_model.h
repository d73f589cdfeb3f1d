#ifndef INFERD_MODEL_STORE_SERVABLE_MODEL_H_
#define INFERD_MODEL_STORE_SERVABLE_MODEL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "batching/batch_scheduler.h"
#include "common/clock.h"
#include "metrics/metrics.h"
#include "model_store/infer_request.h"
#include "model_store/model.h"
#include "proto/model_config.pb.h"

namespace inferd {

// Cumulative figures of one model version, for the ModelStatistics RPC.
struct ServableStatistics {
  uint64_t success_count = 0, success_ns = 0;  // answered OK, end to end
  uint64_t fail_count = 0, fail_ns = 0;        // answered with an error
  uint64_t queue_count = 0, queue_ns = 0;      // time waiting in the queue
  uint64_t compute_count = 0, compute_ns = 0;  // per request, its batch's time
  uint64_t inference_count = 0;                // rows inferred
  uint64_t execution_count = 0;                // batches executed
  uint64_t last_inference_ms = 0;              // Unix ms of the last batch
};

// One loaded, ready model version: its config, its Model and the batch
// scheduler whose workers execute it. Requests are validated against the
// config, queued, batched, executed and answered through their callbacks.
// Thread-safe. The destructor finishes every queued request (see
// BatchScheduler) before it returns.
class ServableModel {
 public:
  struct Options {
    inference::ModelConfig config;  // validated (ValidateModelConfig)
    int64_t version = 1;
    // Labels per config output index, for classification; may be shorter.
    std::vector<std::vector<std::string>> labels;
    Clock* clock = nullptr;     // must outlive this object; null: RealClock()
    bool start_workers = true;  // false only in tests (see RunOnce)
    // Where queue, compute and batch figures go; null: nowhere. Must outlive
    // this object.
    metrics::ModelVersionMetrics* metrics = nullptr;
  };

  // InvalidArgument when the config's batching options are inconsistent.
  static absl::StatusOr<std::unique_ptr<ServableModel>> Create(
      Options options, std::unique_ptr<Model> model);

  // Validates and queues `request`; `done` receives exactly one answer, on
  // this thread (validation errors, refusals) or on a worker. Never blocks.
  // Errors: InvalidArgument (request does not match the config),
  // ResourceExhausted (queue full), DeadlineExceeded, Cancelled, Unavailable
  // (shutting down), Internal (the model failed; message has the cause).
  void Infer(InferRequest request, InferCallback done);

  // Runs due batches on the calling thread (tests with start_workers false).
  size_t RunOnce() { return scheduler_->RunOnce(); }

  const inference::ModelConfig& config() const { return config_; }
  int64_t version() const { return version_; }
  size_t queue_depth() const { return scheduler_->queue_depth(); }
  // A consistent copy of this version's cumulative figures.
  ServableStatistics statistics() const;

  // This version's metrics handles; null when metrics are off.
  metrics::ModelVersionMetrics* metrics() const { return metrics_; }

 private:
  class Task;

  ServableModel(Options options, std::unique_ptr<Model> model);

  void ExecuteBatch(int worker, batching::Batch batch);
  // The model's result for a batch of `total_rows`, checked against the
  // config: Internal naming the output that does not match.
  absl::Status CheckOutputs(const absl::StatusOr<std::vector<Tensor>>& outputs,
                            int64_t total_rows) const;
  // Answers every task of a batch whose execution failed.
  void FailBatch(const std::vector<Task*>& tasks, const absl::Status& status);
  void AnswerTask(Task* task, const std::vector<Tensor>& outputs,
                  int64_t first_row);
  // The batch's value of config input `index`: the one request's bytes when
  // the batch has a single request (no copy), else all rows concatenated.
  static Tensor AssembleInput(const std::vector<Task*>& tasks, int index,
                              int64_t total_rows, inference::DataType dtype);

  const inference::ModelConfig config_;
  const int64_t version_;
  const std::string display_name_;  // "name:version" for messages
  const std::vector<std::vector<std::string>> labels_;
  const std::unique_ptr<Model> model_;
  Clock* const clock_;
  metrics::ModelVersionMetrics* const metrics_;  // may be null

  // Records one answered request (called by Task).
  void RecordAnswer(bool ok, absl::Time enqueued);

  mutable absl::Mutex stats_mu_;
  ServableStatistics stats_ ABSL_GUARDED_BY(stats_mu_);
  // Last member: destroyed first, so queued requests finish while the model
  // is still alive.
  std::unique_ptr<batching::BatchScheduler> scheduler_;
};

}  // namespace inferd

#endif  // INFERD_MODEL_STORE_SERVABLE_MODEL_H_
