#include "batching/batch_scheduler.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace inferd::batching {

absl::Status BatchScheduler::Validate(const BatchSchedulerOptions& options) {
  if (absl::Status s = ValidateBatchPolicyOptions(options.policy); !s.ok()) {
    return s;
  }
  if (options.num_workers < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "instance_group count: expected >= 1, got ", options.num_workers));
  }
  return ValidateQueueOptions(options.queue);
}

absl::StatusOr<std::unique_ptr<BatchScheduler>> BatchScheduler::Create(
    BatchSchedulerOptions options, Processor processor, Clock* clock,
    bool start_workers) {
  if (absl::Status s = Validate(options); !s.ok()) return s;
  std::unique_ptr<WorkerPool> own_pool;
  std::vector<WorkerPool*> instance_pools;
  if (start_workers) {
    own_pool =
        std::make_unique<WorkerPool>(options.name, options.num_workers, clock);
    instance_pools.assign(options.num_workers, own_pool.get());
  }
  std::unique_ptr<BatchScheduler> scheduler(
      new BatchScheduler(std::move(options), std::move(processor), clock,
                         std::move(instance_pools)));
  scheduler->own_pool_ = std::move(own_pool);
  scheduler->JoinPools();
  return scheduler;
}

absl::StatusOr<std::unique_ptr<BatchScheduler>> BatchScheduler::Create(
    BatchSchedulerOptions options, Processor processor, Clock* clock,
    std::vector<WorkerPool*> instance_pools) {
  if (absl::Status s = Validate(options); !s.ok()) return s;
  if (instance_pools.size() != static_cast<size_t>(options.num_workers) ||
      std::count(instance_pools.begin(), instance_pools.end(), nullptr) > 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "model ", options.name, ": ", options.num_workers,
        " instances need a worker pool each, got ", instance_pools.size()));
  }
  std::unique_ptr<BatchScheduler> scheduler(
      new BatchScheduler(std::move(options), std::move(processor), clock,
                         std::move(instance_pools)));
  scheduler->JoinPools();
  return scheduler;
}

BatchScheduler::BatchScheduler(BatchSchedulerOptions options,
                               Processor processor, Clock* clock,
                               std::vector<WorkerPool*> instance_pools)
    : options_(std::move(options)),
      processor_(std::move(processor)),
      clock_(clock),
      instance_pools_(std::move(instance_pools)),
      waiting_(options_.queue.priority_levels + 1, 0),
      cpu_(options_.usable_cpus, options_.cpu_slice),
      busy_(options_.num_workers, false) {
  for (WorkerPool* pool : instance_pools_) {
    if (std::find(pools_.begin(), pools_.end(), pool) == pools_.end()) {
      pools_.push_back(pool);
    }
  }
}

void BatchScheduler::JoinPools() {
  for (WorkerPool* pool : pools_) pool->Add(this);
}

void BatchScheduler::WakePools() {
  for (WorkerPool* pool : pools_) pool->Wake();
}

BatchScheduler::~BatchScheduler() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (pools_.empty()) {
    // Without workers (tests), whatever is left still gets its one answer.
    while (true) {
      Work work;
      {
        absl::MutexLock lock(&mu_);
        absl::Time wake_at;
        work = TakeLocked(nullptr, clock_->Now(), &wake_at);
        if (work.batch.empty() && work.dropped.empty()) break;
        ++in_flight_;
      }
      Execute(std::move(work));
    }
    return;
  }
  WakePools();
  {
    absl::MutexLock lock(&mu_);
    auto drained = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return entries_.empty() && in_flight_ == 0;
    };
    mu_.Await(absl::Condition(&drained));
  }
  for (WorkerPool* pool : pools_) pool->Remove(this);
  own_pool_.reset();
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
    const absl::Time now = clock_->Now();
    absl::StatusOr<Placement> placement = PlaceRequest(
        options_.queue, task->priority(), task->timeout(), now, waiting_);
    if (stopping_) {
      refusal = absl::UnavailableError(
          absl::StrCat("model ", options_.name, " is shutting down"));
    } else if (!placement.ok()) {
      refusal = absl::Status(placement.status().code(),
                             absl::StrCat("model ", options_.name, ": ",
                                          placement.status().message()));
    } else {
      QueuedItem item{rows, task->shape_key(), now};
      item.level = placement->level;
      item.expires = placement->expires;
      item.delay_when_expired =
          placement->timeout_action == TimeoutAction::kDelay;
      const absl::Time deadline = task->deadline();
      InsertLocked(Entry{std::move(task), deadline}, item);
      load_.OnArrival(now, rows);
    }
  }
  if (refusal.ok()) {
    WakePools();
    return refusal;
  }
  // Only a refused task is still here: the queue took the others, and
  // clang-tidy cannot tell the two paths apart.
  task->Fail(refusal);  // NOLINT(bugprone-use-after-move)
  return refusal;
}

void BatchScheduler::InsertLocked(Entry entry, const QueuedItem& item) {
  const size_t at = InsertionIndex(items_, item.level, item.delayed);
  if (at == items_.size()) {
    items_.push_back(item);
    entries_.push_back(std::move(entry));
  } else {
    items_.insert(items_.begin() + at, item);
    entries_.insert(entries_.begin() + at, std::move(entry));
  }
  ++waiting_[item.level];
}

absl::Time BatchScheduler::DropExpiredLocked(absl::Time now, Work* work) {
  absl::Time earliest = absl::InfiniteFuture();
  // Tasks to move behind their level; rare, so usually never allocated.
  std::vector<std::pair<Entry, QueuedItem>> delayed;
  size_t kept = 0;
  for (size_t i = 0; i < entries_.size(); ++i) {
    Entry& entry = entries_[i];
    QueuedItem& item = items_[i];
    const Expiry expiry = CheckExpiry(item, now);
    absl::Status why;
    if (entry.task->cancelled()) {
      why = absl::CancelledError("request cancelled while queued");
    } else if (now >= entry.deadline) {
      why = absl::DeadlineExceededError(absl::StrCat(
          "model ", options_.name,
          ": deadline passed while the request waited in the queue"));
    } else if (expiry == Expiry::kReject) {
      why = absl::DeadlineExceededError(absl::StrCat(
          "model ", options_.name, ": request timeout expired while queued",
          options_.queue.priority_levels > 0
              ? absl::StrCat(" (priority level ", item.level, ")")
              : ""));
    }
    if (!why.ok()) {
      --waiting_[item.level];
      work->dropped.emplace_back(std::move(entry.task), std::move(why));
      continue;
    }
    earliest = std::min(earliest, entry.deadline);
    if (expiry == Expiry::kDelay) {
      item.delayed = true;
      --waiting_[item.level];  // InsertLocked counts it again
      delayed.emplace_back(std::move(entry), item);
      continue;
    }
    if (!item.delayed) earliest = std::min(earliest, item.expires);
    if (kept != i) {
      entries_[kept] = std::move(entry);
      items_[kept] = item;
    }
    ++kept;
  }
  entries_.resize(kept);
  items_.resize(kept);
  for (auto& [entry, item] : delayed) InsertLocked(std::move(entry), item);
  return earliest;
}

// A batch or failures taken for a pool worker.
class BatchScheduler::Job final : public PoolJob {
 public:
  Job(BatchScheduler* scheduler, Work work)
      : scheduler_(scheduler), work_(std::move(work)) {}
  void Run() override { scheduler_->Execute(std::move(work_)); }

 private:
  BatchScheduler* const scheduler_;
  Work work_;
};

PoolQueue::Offer BatchScheduler::Take(const WorkerPool& pool, absl::Time now) {
  Offer offer;
  absl::MutexLock lock(&mu_);
  Work work = TakeLocked(&pool, now, &offer.wake_at);
  if (work.batch.empty() && work.dropped.empty()) {
    offer.idle = entries_.empty();
    return offer;
  }
  ++in_flight_;
  offer.job = std::make_unique<Job>(this, std::move(work));
  return offer;
}

BatchScheduler::Work BatchScheduler::TakeLocked(const WorkerPool* pool,
                                                absl::Time now,
                                                absl::Time* wake_at) {
  Work work;
  const absl::Time earliest_deadline = DropExpiredLocked(now, &work);
  *wake_at = earliest_deadline;
  // Failures are answered first, then the worker comes back.
  if (!work.dropped.empty() || entries_.empty()) return work;
  int instance = -1;
  for (int i = 0; i < options_.num_workers; ++i) {
    const bool ours = pool == nullptr || instance_pools_[i] == pool;
    if (ours && !busy_[i]) {
      instance = i;
      break;
    }
  }
  // Every instance busy: the pool looks again when one finishes.
  if (instance < 0) return work;
  LoadEstimate load = load_.Estimate(now);
  if (options_.process_cpu_time && options_.policy.adaptive_delay) {
    load.cpu = cpu_.Sample(now, options_.process_cpu_time());
  }
  const BatchDecision decision =
      DecideBatch(items_, now, options_.policy, stopping_, load);
  if (decision.count == 0) {
    *wake_at = std::min(decision.wake_at, earliest_deadline);
    return work;
  }
  work.batch.reserve(decision.count);
  for (size_t i = 0; i < decision.count; ++i) {
    work.batch.push_back(std::move(entries_.front().task));
    --waiting_[items_.front().level];
    entries_.pop_front();
    items_.pop_front();
  }
  work.instance = instance;
  busy_[instance] = true;
  return work;
}

size_t BatchScheduler::Execute(Work work) {
  for (auto& [task, status] : work.dropped) task->Fail(status);
  const size_t ran = work.batch.size();
  int64_t rows = 0;
  absl::Time start;
  absl::Time end;
  if (ran > 0) {
    for (const auto& task : work.batch) rows += task->rows();
    start = clock_->Now();
    processor_(work.instance, std::move(work.batch));
    end = clock_->Now();
  }
  // Last touch of the scheduler: once in_flight_ drops, the destructor may
  // finish.
  absl::MutexLock lock(&mu_);
  if (ran > 0) {
    load_.OnBatchDone(rows, end - start);
    if (options_.process_cpu_time && options_.policy.adaptive_delay) {
      cpu_.Restart(end, options_.process_cpu_time());
    }
    busy_[work.instance] = false;
  }
  --in_flight_;
  return ran;
}

size_t BatchScheduler::RunOnce() {
  size_t ran = 0;
  while (true) {
    Work work;
    {
      absl::MutexLock lock(&mu_);
      absl::Time wake_at;
      work = TakeLocked(nullptr, clock_->Now(), &wake_at);
      if (work.batch.empty() && work.dropped.empty()) return ran;
      ++in_flight_;
    }
    const bool only_drops = work.batch.empty();
    ran += Execute(std::move(work));
    if (!only_drops) return ran;
  }
}

size_t BatchScheduler::queue_depth() const {
  absl::MutexLock lock(&mu_);
  return entries_.size();
}

bool BatchScheduler::AwaitQueueDepth(size_t depth,
                                     absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto deep_enough = [this, depth]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return entries_.size() >= depth;
  };
  return clock_->AwaitWithDeadline(&mu_, absl::Condition(&deep_enough),
                                   clock_->Now() + timeout);
}

}  // namespace inferd::batching
