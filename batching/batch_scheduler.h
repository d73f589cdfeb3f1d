#ifndef INFERD_BATCHING_BATCH_SCHEDULER_H_
#define INFERD_BATCHING_BATCH_SCHEDULER_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "batching/batch_policy.h"
#include "batching/batch_task.h"
#include "batching/load_estimator.h"
#include "batching/queue_policy.h"
#include "batching/worker_pool.h"
#include "common/clock.h"

namespace inferd::batching {

struct BatchSchedulerOptions {
  // Grouping rules; see BatchPolicyOptions.
  BatchPolicyOptions policy;

  // Execution instances: at most this many batches run at once, each on
  // its own instance. Must be ≥ 1.
  int num_workers = 1;

  // Priority levels, and each level's bound on waiting requests and queue
  // timeout (on top of a task's own deadline); see queue_policy.h. The
  // default: one FIFO level, unbounded, without a timeout.
  QueueOptions queue;

  // Used in error messages, e.g. "iris:1".
  std::string name;

  // The process's CPU time so far, and the CPUs it may use, read in slices
  // of cpu_slice for the adaptive delay (LoadEstimate::cpu, DecideBatch).
  // Unset: not measured, and the adaptive delay waits only for the rows
  // that keep the worker up.
  std::function<absl::Duration()> process_cpu_time;
  int usable_cpus = 1;
  absl::Duration cpu_slice = absl::Microseconds(100);
};

// A queue of BatchTasks, FIFO or in priority order (PlaceRequest(),
// InsertionIndex() and CheckExpiry() decide where a task waits and what
// becomes of it when its queue timeout passes), from which workers take
// batches according to DecideBatch() and hand them to a Processor. The workers
// are those of one or more WorkerPools (shared with other queues), or a pool of
// its own. It measures its load (arrivals, and each batch's time in the
// Processor, on the clock) for the adaptive delay.
//
// Every submitted task is either handed to the processor exactly once or
// failed exactly once (bad priority, queue full, too many rows, deadline or
// queue timeout passed, cancelled, scheduler stopped). Thread-safe. The
// destructor stops taking tasks, runs every task already queued (through the
// same workers), and waits for them.
class BatchScheduler final : public PoolQueue {
 public:
  // Executes a batch on execution instance `worker` (in [0, num_workers));
  // no two batches run on one instance at once. It must answer every task in
  // the batch. Called without any scheduler lock held.
  using Processor = std::function<void(int worker, Batch batch)>;

  // Validates `options` (InvalidArgument naming the field) and starts a pool
  // of num_workers threads of its own. `clock` must outlive the scheduler.
  // With `start_workers` false no thread is started and a test drives the
  // scheduler through RunOnce().
  static absl::StatusOr<std::unique_ptr<BatchScheduler>> Create(
      BatchSchedulerOptions options, Processor processor, Clock* clock,
      bool start_workers = true);

  // As above, but instance i runs on the workers of `instance_pools[i]`
  // (one entry per instance; pools shared with other queues, which must
  // outlive the scheduler).
  static absl::StatusOr<std::unique_ptr<BatchScheduler>> Create(
      BatchSchedulerOptions options, Processor processor, Clock* clock,
      std::vector<WorkerPool*> instance_pools);

  ~BatchScheduler() override;
  BatchScheduler(const BatchScheduler&) = delete;
  BatchScheduler& operator=(const BatchScheduler&) = delete;

  // Queues `task`. Never blocks. On refusal the task is failed (Fail() is
  // called before this returns) and the same status is returned:
  // InvalidArgument (rows < 1 or > max_batch_size, or a priority that is not
  // a level), ResourceExhausted (its level's queue full), Unavailable
  // (scheduler stopping). A queued task whose queue timeout passes is failed
  // with DeadlineExceeded ("request timeout expired") or delayed, as its
  // level's policy says.
  absl::Status Submit(std::unique_ptr<BatchTask> task);

  // For tests without workers: fails expired tasks and, if the policy says a
  // batch is due at the clock's current time, runs it on instance 0. Returns
  // the number of tasks handed to the processor.
  size_t RunOnce();

  // Requests waiting in the queue (not those executing).
  size_t queue_depth() const;

  // Blocks until at least `depth` requests wait in the queue, or until
  // `timeout` passes on the clock; returns whether they do. For tests that
  // must know a request is queued before they go on.
  bool AwaitQueueDepth(size_t depth, absl::Duration timeout) const;

  // PoolQueue: a due batch on a free instance of `pool`, or expired tasks.
  Offer Take(const WorkerPool& pool, absl::Time now) override;

 private:
  struct Entry {
    std::unique_ptr<BatchTask> task;
    absl::Time deadline;  // the task's own
  };

  // What a worker does next: fail `dropped`, then process `batch` on
  // instance `instance`.
  struct Work {
    Batch batch;
    std::vector<std::pair<std::unique_ptr<BatchTask>, absl::Status>> dropped;
    int instance = -1;
  };
  class Job;

  BatchScheduler(BatchSchedulerOptions options, Processor processor,
                 Clock* clock, std::vector<WorkerPool*> instance_pools);
  static absl::Status Validate(const BatchSchedulerOptions& options);
  // Registers with every pool of an instance.
  void JoinPools();
  void WakePools();

  // Takes what is due at `now` for an instance of `pool` (null: any). Sets
  // *wake_at when nothing is.
  Work TakeLocked(const WorkerPool* pool, absl::Time now, absl::Time* wake_at)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Runs the work's failures and batch, then gives its instance back.
  // Returns the number of tasks processed.
  size_t Execute(Work work);

  // Moves expired and cancelled tasks to `dropped`, and tasks whose queue
  // timeout passed at a level that delays them behind their level; returns
  // the earliest deadline or queue timeout among the remaining ones.
  absl::Time DropExpiredLocked(absl::Time now, Work* work)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Queues `entry` described by `item` where InsertionIndex() says.
  void InsertLocked(Entry entry, const QueuedItem& item)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const BatchSchedulerOptions options_;
  const Processor processor_;
  Clock* const clock_;
  // The pool of each instance; empty when nothing runs on workers (tests).
  const std::vector<WorkerPool*> instance_pools_;
  // Those pools, each once.
  std::vector<WorkerPool*> pools_;
  // The pool made for this scheduler alone, if any.
  std::unique_ptr<WorkerPool> own_pool_;

  mutable absl::Mutex mu_;
  // Parallel queues in the order requests are served: items_[i] describes
  // entries_[i] for the policies.
  std::deque<Entry> entries_ ABSL_GUARDED_BY(mu_);
  std::deque<QueuedItem> items_ ABSL_GUARDED_BY(mu_);
  // Requests waiting at each level 0..priority_levels (delayed included).
  std::vector<size_t> waiting_ ABSL_GUARDED_BY(mu_);
  // Arrivals and batch costs, for the adaptive delay.
  LoadEstimator load_ ABSL_GUARDED_BY(mu_);
  CpuSampler cpu_ ABSL_GUARDED_BY(mu_);
  // Instances running a batch now.
  std::vector<bool> busy_ ABSL_GUARDED_BY(mu_);
  // Work taken and not yet finished (batches and failures).
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace inferd::batching

#endif  // INFERD_BATCHING_BATCH_SCHEDULER_H_
