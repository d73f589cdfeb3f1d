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
#include "model_store/version_accounting.h"
#include "proto/model_config.pb.h"

namespace inferd {

// One loaded, ready model version: its config, its Model and the batch
// scheduler whose workers execute it. Requests are validated against the
// config, queued, batched, executed and answered through their callbacks;
// every stage of every request is accounted once, on the injected clock, in
// its VersionAccounting (ModelStatistics and Prometheus). Thread-safe. The
// destructor finishes every queued request (see BatchScheduler) before it
// returns.
class ServableModel {
 public:
  struct Options {
    inference::ModelConfig config;  // validated (ValidateModelConfig)
    int64_t version = 1;
    // Labels per config output index, for classification; may be shorter.
    std::vector<std::vector<std::string>> labels;
    Clock* clock = nullptr;     // must outlive this object; null: RealClock()
    bool start_workers = true;  // false only in tests (see RunOnce)
    // The shared worker pools its instances run on (by their device); null:
    // a pool of its own, one worker per instance. Must outlive this object.
    batching::WorkerPools* pools = nullptr;
    // This version's Prometheus metrics; null: none. Must outlive this
    // object.
    metrics::ModelVersionMetrics* metrics = nullptr;
  };

  // InvalidArgument when the config's batching options are inconsistent.
  static absl::StatusOr<std::unique_ptr<ServableModel>> Create(
      Options options, std::unique_ptr<Model> model);

  // Validates and queues `request`; `done` receives exactly one answer, on
  // this thread (validation errors, refusals) or on a worker. Never blocks.
  // Errors: InvalidArgument (request does not match the config, or its
  // priority is not one of the model's levels), ResourceExhausted (queue, or
  // its priority level's, full), DeadlineExceeded (its deadline or queue
  // timeout passed while queued), Cancelled, Unavailable (shutting down),
  // Internal (the model failed; message has the cause).
  void Infer(InferRequest request, InferCallback done);

  // Answers a request that never reached the queue (it could not be
  // decoded) with `status`, accounting it like the others under `protocol`.
  // Never blocks.
  void Refuse(const absl::Status& status, Protocol protocol,
              const InferCallback& done);

  // Runs due batches on the calling thread (tests with start_workers false).
  size_t RunOnce() { return scheduler_->RunOnce(); }

  const inference::ModelConfig& config() const { return config_; }
  int64_t version() const { return version_; }
  size_t queue_depth() const { return scheduler_->queue_depth(); }
  // Blocks until `depth` requests wait in the queue (true) or `timeout`
  // passes (false); for tests (see BatchScheduler::AwaitQueueDepth).
  bool AwaitQueueDepth(size_t depth, absl::Duration timeout) const {
    return scheduler_->AwaitQueueDepth(depth, timeout);
  }
  // A consistent copy of this version's cumulative figures.
  ServableStatistics statistics() const { return accounting_.statistics(); }

 private:
  class Task;

  ServableModel(Options options, std::unique_ptr<Model> model);

  void ExecuteBatch(int worker, const batching::Batch& batch);
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
  VersionAccounting accounting_;
  // Last member: destroyed first, so queued requests finish while the model
  // is still alive.
  std::unique_ptr<batching::BatchScheduler> scheduler_;
};

}  // namespace inferd

#endif  // INFERD_MODEL_STORE_SERVABLE_MODEL_H_
