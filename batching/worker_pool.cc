#include "batching/worker_pool.h"

#include <algorithm>
#include <utility>

#include "common/io_class_governor.h"
#include "common/thread_scheduling.h"

namespace inferd::batching {

WorkerPool::WorkerPool(std::string name, int threads, Clock* clock)
    : name_(std::move(name)), clock_(clock) {
  threads = std::max(threads, 1);
  threads_.reserve(threads);
  for (int i = 0; i < threads; ++i) {
    threads_.emplace_back(&WorkerPool::WorkerLoop, this);
  }
}

WorkerPool::~WorkerPool() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    ++generation_;
  }
  for (std::thread& thread : threads_) thread.join();
}

void WorkerPool::Add(PoolQueue* queue) {
  absl::MutexLock lock(&mu_);
  for (const Member& member : members_) {
    if (member.queue == queue) return;
  }
  // A new queue starts level with the others: no credit, no debt.
  members_.push_back(Member{queue, virtual_time_s_});
  ++generation_;
}

void WorkerPool::Remove(PoolQueue* queue) {
  absl::MutexLock lock(&mu_);
  // A worker that ran the queue's last job may still be on its way out of
  // the queue's code (unlocking its mutex): wait until it is back here.
  auto quiet = [this, queue]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (const Member& member : members_) {
      if (member.queue == queue) return member.running == 0;
    }
    return true;
  };
  mu_.Await(absl::Condition(&quiet));
  members_.erase(std::remove_if(members_.begin(), members_.end(),
                                [queue](const Member& member) {
                                  return member.queue == queue;
                                }),
                 members_.end());
}

void WorkerPool::Wake() {
  absl::MutexLock lock(&mu_);
  ++generation_;
}

int WorkerPool::queues() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(members_.size());
}

std::unique_ptr<PoolJob> WorkerPool::NextJobLocked(absl::Time now,
                                                   PoolQueue** from,
                                                   absl::Time* wake_at) {
  // Least charged first; the order among equals is the order of arrival.
  std::vector<Member*> order;
  order.reserve(members_.size());
  for (Member& member : members_) order.push_back(&member);
  std::stable_sort(order.begin(), order.end(),
                   [](const Member* a, const Member* b) {
                     return a->charged_s < b->charged_s;
                   });
  *wake_at = absl::InfiniteFuture();
  for (Member* member : order) {
    PoolQueue::Offer offer = member->queue->Take(*this, now);
    if (offer.job != nullptr) {
      virtual_time_s_ = std::max(virtual_time_s_, member->charged_s);
      ++member->running;
      *from = member->queue;
      return std::move(offer.job);
    }
    if (offer.idle) {
      member->charged_s = std::max(member->charged_s, virtual_time_s_);
    }
    *wake_at = std::min(*wake_at, offer.wake_at);
  }
  return nullptr;
}

void WorkerPool::WorkerLoop() {
  // Wake-ups of request threads must not preempt a batch mid-run (see
  // common/thread_scheduling.h): the default class, whichever class the I/O
  // threads are in now or later (common/io_class_governor.h).
  const ModelThread model_thread;
  NameCurrentThread("batch-worker");
  mu_.Lock();
  while (!stopping_) {
    PoolQueue* from = nullptr;
    absl::Time wake_at;
    std::unique_ptr<PoolJob> job =
        NextJobLocked(clock_->Now(), &from, &wake_at);
    if (job != nullptr) {
      mu_.Unlock();
      const absl::Time start = clock_->Now();
      job->Run();
      const double took_s = absl::ToDoubleSeconds(clock_->Now() - start);
      job.reset();
      mu_.Lock();
      // Remove() waits for running to drop, so `from` is still a member.
      for (Member& member : members_) {
        if (member.queue == from) {
          member.charged_s += took_s;
          --member.running;
        }
      }
      ++generation_;  // a slot of `from` is free again
      continue;
    }
    const uint64_t seen = generation_;
    auto changed = [this, seen]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return generation_ != seen || stopping_;
    };
    clock_->AwaitWithDeadline(&mu_, absl::Condition(&changed), wake_at);
  }
  mu_.Unlock();
}

WorkerPools::WorkerPools(int cpu_threads, int gpu_threads, Clock* clock)
    : cpu_threads_(cpu_threads), gpu_threads_(gpu_threads), clock_(clock) {}

WorkerPool* WorkerPools::ForDevice(const std::string& device) {
  absl::MutexLock lock(&mu_);
  std::unique_ptr<WorkerPool>& pool = pools_[device];
  if (pool == nullptr) {
    const int threads = device == "cpu" ? cpu_threads_ : gpu_threads_;
    pool = std::make_unique<WorkerPool>(device, threads, clock_);
  }
  return pool.get();
}

}  // namespace inferd::batching
