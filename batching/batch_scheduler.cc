#include "batching/batch_scheduler.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/thread_scheduling.h"

namespace inferd::batching {

absl::StatusOr<std::unique_ptr<BatchScheduler>> BatchScheduler::Create(
    BatchSchedulerOptions options, Processor processor, Clock* clock,
    bool start_workers) {
  if (absl::Status s = ValidateBatchPolicyOptions(options.policy); !s.ok()) {
    return s;
  }
  if (options.num_workers < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "instance_group count: expected >= 1, got ", options.num_workers));
  }
  if (options.queue_timeout < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "default_timeout_microseconds: expected >= 0");
  }
  std::unique_ptr<BatchScheduler> scheduler(
      new BatchScheduler(std::move(options), std::move(processor), clock));
  if (start_workers) {
    for (int i = 0; i < scheduler->options_.num_workers; ++i) {
      scheduler->workers_.emplace_back(&BatchScheduler::WorkerLoop,
                                       scheduler.get(), i);
    }
  }
  return scheduler;
}

BatchScheduler::BatchScheduler(BatchSchedulerOptions options,
                               Processor processor, Clock* clock)
    : options_(std::move(options)),
      processor_(std::move(processor)),
      clock_(clock) {}

BatchScheduler::~BatchScheduler() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    ++generation_;
  }
  for (std::thread& worker : workers_) worker.join();
  // Without workers (tests), whatever is left still gets its one answer.
  if (workers_.empty()) {
    while (true) {
      Work work = NextWork(/*wait=*/false);
      if (work.batch.empty() && work.dropped.empty()) break;
      Execute(0, std::move(work));
    }
  }
}

absl::Status BatchScheduler::Submit(std::unique_ptr<BatchTask> task) {
  absl::Status refusal;
  const int64_t rows = task->rows();
  if (rows < 1 || rows > options_.policy.max_batch_size) {
    refusal = absl::InvalidArgumentError(
        absl::StrCat("model ", options_.name, ": request has ", rows,
                     " rows (batch dimension); expected 1 to ",
                     options_.policy.max_batch_size, " (max_batch_size)"));
  } else {
    absl::MutexLock lock(&mu_);
    if (stopping_) {
      refusal = absl::UnavailableError(
          absl::StrCat("model ", options_.name, " is shutting down"));
    } else if (options_.max_queue_size > 0 &&
               entries_.size() >= options_.max_queue_size) {
      refusal = absl::ResourceExhaustedError(
          absl::StrCat("model ", options_.name, ": queue is full (",
                       options_.max_queue_size, " requests waiting)"));
    } else {
      const absl::Time now = clock_->Now();
      absl::Time deadline = task->deadline();
      if (options_.queue_timeout > absl::ZeroDuration()) {
        deadline = std::min(deadline, now + options_.queue_timeout);
      }
      items_.push_back(QueuedItem{rows, task->shape_key(), now});
      entries_.push_back(Entry{std::move(task), deadline});
      load_.OnArrival(now, rows);
      ++generation_;
      return absl::OkStatus();
    }
  }
  task->Fail(refusal);
  return refusal;
}

absl::Time BatchScheduler::DropExpiredLocked(absl::Time now, Work* work) {
  absl::Time earliest = absl::InfiniteFuture();
  size_t kept = 0;
  for (size_t i = 0; i < entries_.size(); ++i) {
    Entry& entry = entries_[i];
    absl::Status why;
    if (entry.task->cancelled()) {
      why = absl::CancelledError("request cancelled while queued");
    } else if (now >= entry.deadline) {
      why = absl::DeadlineExceededError(absl::StrCat(
          "model ", options_.name,
          ": deadline passed while the request waited in the queue"));
    }
    if (!why.ok()) {
      work->dropped.emplace_back(std::move(entry.task), std::move(why));
      continue;
    }
    earliest = std::min(earliest, entry.deadline);
    if (kept != i) {
      entries_[kept] = std::move(entry);
      items_[kept] = items_[i];
    }
    ++kept;
  }
  entries_.resize(kept);
  items_.resize(kept);
  return earliest;
}

BatchScheduler::Work BatchScheduler::NextWork(bool wait) {
  absl::MutexLock lock(&mu_);
  while (true) {
    const absl::Time now = clock_->Now();
    Work work;
    const absl::Time earliest_deadline = DropExpiredLocked(now, &work);
    // Failures are answered outside the lock, then the worker comes back.
    if (!work.dropped.empty()) return work;
    if (entries_.empty() && stopping_) {
      work.stop = true;
      return work;
    }
    const BatchDecision decision = DecideBatch(
        items_, now, options_.policy, stopping_, load_.Estimate(now));
    if (decision.count > 0) {
      work.batch.reserve(decision.count);
      for (size_t i = 0; i < decision.count; ++i) {
        work.batch.push_back(std::move(entries_.front().task));
        entries_.pop_front();
        items_.pop_front();
      }
      ++generation_;
      return work;
    }
    if (!wait) return work;
    const uint64_t seen = generation_;
    auto changed = [this, seen]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return generation_ != seen;
    };
    clock_->AwaitWithDeadline(&mu_, absl::Condition(&changed),
                              std::min(decision.wake_at, earliest_deadline));
  }
}

size_t BatchScheduler::Execute(int worker, Work work) {
  for (auto& [task, status] : work.dropped) task->Fail(status);
  const size_t ran = work.batch.size();
  if (ran == 0) return 0;
  int64_t rows = 0;
  for (const auto& task : work.batch) rows += task->rows();
  const absl::Time start = clock_->Now();
  processor_(worker, std::move(work.batch));
  const absl::Duration took = clock_->Now() - start;
  absl::MutexLock lock(&mu_);
  load_.OnBatchDone(rows, took);
  return ran;
}

void BatchScheduler::WorkerLoop(int worker) {
  // Wake-ups of request threads must not preempt a batch mid-run (see
  // common/thread_scheduling.h); a no-op unless the server asked for it.
  RunInDefaultClass();
  NameCurrentThread("batch-worker");
  while (true) {
    Work work = NextWork(/*wait=*/true);
    if (work.stop) return;
    Execute(worker, std::move(work));
  }
}

size_t BatchScheduler::RunOnce() {
  size_t ran = 0;
  while (true) {
    Work work = NextWork(/*wait=*/false);
    const bool only_drops = work.batch.empty();
    if (only_drops && work.dropped.empty()) return ran;
    ran += Execute(0, std::move(work));
    if (!only_drops) return ran;
  }
}

size_t BatchScheduler::queue_depth() const {
  absl::MutexLock lock(&mu_);
  return entries_.size();
}

}  // namespace inferd::batching
