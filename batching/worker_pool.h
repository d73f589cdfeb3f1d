#ifndef INFERD_BATCHING_WORKER_POOL_H_
#define INFERD_BATCHING_WORKER_POOL_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"

namespace inferd::batching {

class WorkerPool;

// Work a queue hands to a pool worker: runs once, on the worker, without any
// pool or queue lock held.
class PoolJob {
 public:
  virtual ~PoolJob() = default;
  virtual void Run() = 0;
};

// A queue served by one or more WorkerPools (a BatchScheduler).
class PoolQueue {
 public:
  virtual ~PoolQueue() = default;

  struct Offer {
    std::unique_ptr<PoolJob> job;  // null: nothing to run now
    // With no job: when the queue may next have one (a batch falls due or a
    // queued request expires) without being told through Wake().
    absl::Time wake_at = absl::InfiniteFuture();
    bool idle = false;  // nothing queued
  };

  // What a worker of `pool` should run at `now`. Called with the pool's lock
  // held: must not block, and must not call back into the pool.
  virtual Offer Take(const WorkerPool& pool, absl::Time now) = 0;
};

// Worker threads shared by every queue that runs batches on one device.
//
// Fairness: each queue is charged the time its jobs run on the pool's
// workers; a free worker serves, among the queues with a batch due, the one
// charged least (start-time fair queuing). Equal models under equal load so
// get equal shares of the workers; a cheaper model gets more batches for the
// same share. A queue that falls idle is brought up to the charge of the queue
// served last, so it banks no credit while idle and cannot starve the others
// when it comes back. How many batches one queue runs at once is the queue's
// own bound (its instance count).
//
// Thread-safe. Queues must be removed before the pool is destroyed.
class WorkerPool {
 public:
  // Starts `threads` (≥ 1) workers named "batch-worker", each in the default
  // scheduling class (see common/thread_scheduling.h). `clock` must outlive
  // the pool.
  WorkerPool(std::string name, int threads, Clock* clock);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Starts serving `queue`. Idempotent.
  void Add(PoolQueue* queue);
  // Stops serving `queue`; returns once no worker is inside its Take() or
  // runs a job taken from it (so the queue may then be destroyed).
  void Remove(PoolQueue* queue);
  // Something in a queue changed (a request arrived, a job finished, a
  // queue is stopping): idle workers look again.
  void Wake();

  const std::string& name() const { return name_; }
  int threads() const { return static_cast<int>(threads_.size()); }
  // Queues now served; for tests and logs.
  int queues() const;

 private:
  struct Member {
    PoolQueue* queue;
    double charged_s = 0;  // worker time its jobs used, fair-share adjusted
    int running = 0;       // its jobs on workers now
  };

  void WorkerLoop();
  // Takes the next job by fair share; sets *wake_at when there is none.
  std::unique_ptr<PoolJob> NextJobLocked(absl::Time now, PoolQueue** from,
                                         absl::Time* wake_at)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string name_;
  Clock* const clock_;
  mutable absl::Mutex mu_;
  std::vector<Member> members_ ABSL_GUARDED_BY(mu_);
  // The charge of the last queue served: where an idle queue restarts.
  double virtual_time_s_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

// One WorkerPool per device ("cpu", "cuda:0", ...), made on first use.
// Thread-safe; pools live as long as the registry.
class WorkerPools {
 public:
  // `cpu_threads` workers for the CPU pool, `gpu_threads` for each GPU's.
  WorkerPools(int cpu_threads, int gpu_threads, Clock* clock);

  // The pool for `device`, as c10::Device::str() names it.
  WorkerPool* ForDevice(const std::string& device);

 private:
  const int cpu_threads_;
  const int gpu_threads_;
  Clock* const clock_;
  absl::Mutex mu_;
  std::map<std::string, std::unique_ptr<WorkerPool>> pools_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace inferd::batching

#endif  // INFERD_BATCHING_WORKER_POOL_H_
