#ifndef INFERD_BATCHING_BATCH_SCHEDULER_H_
#define INFERD_BATCHING_BATCH_SCHEDULER_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "batching/batch_policy.h"
#include "batching/batch_task.h"
#include "batching/load_estimator.h"
#include "common/clock.h"

namespace inferd::batching {

struct BatchSchedulerOptions {
  // Grouping rules; see BatchPolicyOptions.
  BatchPolicyOptions policy;

  // Worker threads, each executing one batch at a time. Must be ≥ 1.
  int num_workers = 1;

  // Most requests waiting in the queue; a request beyond it is refused with
  // ResourceExhausted. 0: unbounded.
  size_t max_queue_size = 0;

  // Longest a request may wait in the queue before it is failed with
  // DeadlineExceeded (on top of its own deadline). Zero: no queue timeout.
  absl::Duration queue_timeout = absl::ZeroDuration();

  // Used in error messages, e.g. "iris:1".
  std::string name;
};

// A FIFO queue of BatchTasks and the pool of worker threads that take batches
// off it according to DecideBatch() and hand them to a Processor. It
// measures its load (arrivals, and each batch's time in the Processor, on
// the clock) for the adaptive delay.
//
// Every submitted task is either handed to the processor exactly once or
// failed exactly once (queue full, too many rows, deadline passed, cancelled,
// scheduler stopped). Thread-safe. The destructor stops taking tasks, runs
// every task already queued, and joins the workers.
class BatchScheduler {
 public:
  // Executes a batch on worker `worker` (in [0, num_workers)). It must answer
  // every task in the batch. Called without any scheduler lock held.
  using Processor = std::function<void(int worker, Batch batch)>;

  // Validates `options` (InvalidArgument naming the field) and starts the
  // workers. `clock` must outlive the scheduler. With `start_workers` false no
  // thread is started and a test drives the scheduler through RunOnce().
  static absl::StatusOr<std::unique_ptr<BatchScheduler>> Create(
      BatchSchedulerOptions options, Processor processor, Clock* clock,
      bool start_workers = true);

  ~BatchScheduler();
  BatchScheduler(const BatchScheduler&) = delete;
  BatchScheduler& operator=(const BatchScheduler&) = delete;

  // Queues `task`. Never blocks. On refusal the task is failed (Fail() is
  // called before this returns) and the same status is returned:
  // InvalidArgument (rows < 1 or > max_batch_size), ResourceExhausted (queue
  // full), Unavailable (scheduler stopping).
  absl::Status Submit(std::unique_ptr<BatchTask> task);

  // For tests without workers: fails expired tasks and, if the policy says a
  // batch is due at the clock's current time, runs it on worker 0. Returns the
  // number of tasks handed to the processor.
  size_t RunOnce();

  // Requests waiting in the queue (not those executing).
  size_t queue_depth() const;

 private:
  struct Entry {
    std::unique_ptr<BatchTask> task;
    absl::Time deadline;  // the task's own, capped by the queue timeout
  };

  // What a worker does next: fail `dropped`, then process `batch`.
  struct Work {
    Batch batch;
    std::vector<std::pair<std::unique_ptr<BatchTask>, absl::Status>> dropped;
    bool stop = false;
  };

  BatchScheduler(BatchSchedulerOptions options, Processor processor,
                 Clock* clock);

  void WorkerLoop(int worker);
  // Blocks until there is work; with `wait` false returns at once instead.
  Work NextWork(bool wait);
  // Runs the work's failures and batch. Returns whether a batch ran.
  size_t Execute(int worker, Work work);

  // Moves expired and cancelled tasks to `dropped`; returns the earliest
  // deadline among the remaining ones.
  absl::Time DropExpiredLocked(absl::Time now, Work* work)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const BatchSchedulerOptions options_;
  const Processor processor_;
  Clock* const clock_;

  mutable absl::Mutex mu_;
  // Parallel queues: items_[i] describes entries_[i] for DecideBatch().
  std::deque<Entry> entries_ ABSL_GUARDED_BY(mu_);
  std::deque<QueuedItem> items_ ABSL_GUARDED_BY(mu_);
  // Arrivals and batch costs, for the adaptive delay.
  LoadEstimator load_ ABSL_GUARDED_BY(mu_);
  // Bumped on every change a waiting worker must look at.
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;

  std::vector<std::thread> workers_;
};

}  // namespace inferd::batching

#endif  // INFERD_BATCHING_BATCH_SCHEDULER_H_
