#include "batching/batch_scheduler.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/thread_scheduling.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace inferd::batching {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

const absl::Time kT0 = absl::FromUnixSeconds(1000);

// Real-time bound on waits for background threads. Only turns a hang into a
// failure; nothing is asserted about how long anything takes.
constexpr absl::Duration kHangGuard = absl::Seconds(60);

// Every answer given to every task, by task id. Thread-safe.
class Ledger {
 public:
  void Record(int id, absl::Status status) {
    absl::MutexLock lock(&mu_);
    answers_[id].push_back(std::move(status));
  }

  int answers(int id) const {
    absl::MutexLock lock(&mu_);
    auto it = answers_.find(id);
    return it == answers_.end() ? 0 : static_cast<int>(it->second.size());
  }

  // The first answer of task `id`; Unknown if it has none.
  absl::Status status(int id) const {
    absl::MutexLock lock(&mu_);
    auto it = answers_.find(id);
    if (it == answers_.end() || it->second.empty()) {
      return absl::UnknownError("never answered");
    }
    return it->second.front();
  }

  // Expects tasks 0 .. num_tasks-1, and no others, each answered exactly once.
  void ExpectEachAnsweredOnce(int num_tasks) const {
    absl::MutexLock lock(&mu_);
    for (int id = 0; id < num_tasks; ++id) {
      auto it = answers_.find(id);
      const size_t n = it == answers_.end() ? 0 : it->second.size();
      EXPECT_EQ(n, 1u) << "task " << id << " answered " << n << " times";
    }
    EXPECT_EQ(answers_.size(), static_cast<size_t>(num_tasks));
  }

  // Blocks until `n` answers in total were recorded.
  bool AwaitTotal(int n) const {
    absl::MutexLock lock(&mu_);
    auto enough = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      int total = 0;
      for (const auto& [id, list] : answers_) {
        total += static_cast<int>(list.size());
      }
      return total >= n;
    };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), kHangGuard);
  }

 private:
  mutable absl::Mutex mu_;
  std::map<int, std::vector<absl::Status>> answers_ ABSL_GUARDED_BY(mu_);
};

struct TaskSpec {
  int id = 0;
  int64_t rows = 1;
  uint64_t shape_key = 0;
  absl::Time deadline = absl::InfiniteFuture();
  uint64_t priority = 0;
  absl::Duration timeout = absl::ZeroDuration();
};

class FakeTask final : public BatchTask {
 public:
  FakeTask(const TaskSpec& spec, Ledger* ledger)
      : spec_(spec), ledger_(ledger) {}

  int64_t rows() const override { return spec_.rows; }
  uint64_t shape_key() const override { return spec_.shape_key; }
  absl::Time deadline() const override { return spec_.deadline; }
  uint64_t priority() const override { return spec_.priority; }
  absl::Duration timeout() const override { return spec_.timeout; }
  bool cancelled() const override {
    return cancelled_.load(std::memory_order_acquire);
  }
  void Fail(const absl::Status& status) override {
    if (on_fail_) on_fail_();
    ledger_->Record(spec_.id, status);
  }
  // Runs inside Fail(), before the answer is recorded.
  void set_on_fail(std::function<void()> f) { on_fail_ = std::move(f); }

  // What the processor calls to answer a task it executed.
  void Complete() { ledger_->Record(spec_.id, absl::OkStatus()); }
  void Cancel() { cancelled_.store(true, std::memory_order_release); }
  int id() const { return spec_.id; }

 private:
  const TaskSpec spec_;
  Ledger* const ledger_;
  // Set by the test thread, read by scheduler threads.
  std::atomic<bool> cancelled_{false};
  std::function<void()> on_fail_;
};

struct BatchRecord {
  int worker = -1;
  std::vector<int> ids;
  std::vector<int64_t> rows;
  std::vector<uint64_t> shape_keys;

  int64_t total_rows() const {
    int64_t total = 0;
    for (int64_t r : rows) total += r;
    return total;
  }
};

// A Processor that records each batch and answers every task in it with OK.
// If blocking is on, each call waits inside the processor until Release().
// Thread-safe.
class Recorder {
 public:
  explicit Recorder(bool blocking = false) : blocking_(blocking) {}

  // Runs at the start of every Process() call, on the calling thread.
  // REQUIRES: set before the scheduler can call the processor.
  void set_on_process(std::function<void()> f) { on_process_ = std::move(f); }

  BatchScheduler::Processor processor() {
    return
        [this](int worker, Batch batch) { Process(worker, std::move(batch)); };
  }

  std::vector<BatchRecord> batches() const {
    absl::MutexLock lock(&mu_);
    return batches_;
  }

  bool AwaitBatches(size_t n) const {
    absl::MutexLock lock(&mu_);
    auto enough = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return batches_.size() >= n;
    };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), kHangGuard);
  }

  // Blocks until `n` calls are inside the processor at the same time.
  bool AwaitInFlight(int n) const {
    absl::MutexLock lock(&mu_);
    auto enough = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return in_flight_ >= n;
    };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), kHangGuard);
  }

  void Release() {
    absl::MutexLock lock(&mu_);
    released_ = true;
  }

  int max_in_flight() const {
    absl::MutexLock lock(&mu_);
    return max_in_flight_;
  }

 private:
  void Process(int worker, Batch batch) {
    if (on_process_) on_process_();
    BatchRecord record;
    record.worker = worker;
    for (const auto& task : batch) {
      record.ids.push_back(static_cast<FakeTask*>(task.get())->id());
      record.rows.push_back(task->rows());
      record.shape_keys.push_back(task->shape_key());
    }
    {
      absl::MutexLock lock(&mu_);
      batches_.push_back(record);
      ++in_flight_;
      max_in_flight_ = std::max(max_in_flight_, in_flight_);
      if (blocking_) {
        mu_.Await(absl::Condition(&released_));
      }
      --in_flight_;
    }
    for (const auto& task : batch)
      static_cast<FakeTask*>(task.get())->Complete();
  }

  const bool blocking_;
  std::function<void()> on_process_;
  mutable absl::Mutex mu_;
  std::vector<BatchRecord> batches_ ABSL_GUARDED_BY(mu_);
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  int max_in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  bool released_ ABSL_GUARDED_BY(mu_) = false;
};

BatchSchedulerOptions DynamicOptions(int64_t max_batch_size,
                                     absl::Duration delay) {
  BatchSchedulerOptions options;
  options.name = "iris:1";
  options.policy.max_batch_size = max_batch_size;
  options.policy.dynamic_batching = true;
  options.policy.max_queue_delay = delay;
  return options;
}

std::vector<int> Ids(const std::vector<BatchRecord>& batches) {
  std::vector<int> ids;
  for (const BatchRecord& b : batches)
    ids.insert(ids.end(), b.ids.begin(), b.ids.end());
  return ids;
}

// Declaration order matters: the scheduler is destroyed first, while the
// ledger, the recorder and the clock it uses are still alive.
class BatchSchedulerTest : public ::testing::Test {
 protected:
  void Start(BatchSchedulerOptions options, bool start_workers,
             bool blocking_processor = false) {
    recorder_ = std::make_unique<Recorder>(blocking_processor);
    auto scheduler = BatchScheduler::Create(
        std::move(options), recorder_->processor(), &clock_, start_workers);
    ASSERT_TRUE(scheduler.ok()) << scheduler.status();
    scheduler_ = std::move(*scheduler);
  }

  absl::Status Submit(const TaskSpec& spec) {
    return scheduler_->Submit(std::make_unique<FakeTask>(spec, &ledger_));
  }

  // Submits task `id`, one row, asking for `priority`.
  absl::Status SubmitAt(int id, uint64_t priority) {
    return Submit({id, 1, 0, absl::InfiniteFuture(), priority});
  }

  // Submits and hands back a pointer for cancelling; the scheduler owns it.
  FakeTask* SubmitAndKeep(const TaskSpec& spec) {
    auto task = std::make_unique<FakeTask>(spec, &ledger_);
    FakeTask* raw = task.get();
    EXPECT_TRUE(scheduler_->Submit(std::move(task)).ok());
    return raw;
  }

  // Destroys the scheduler (answering anything still queued), then expects
  // tasks 0 .. num_tasks-1 each answered exactly once.
  void FinishAndExpectEachAnsweredOnce(int num_tasks) {
    scheduler_.reset();
    ledger_.ExpectEachAnsweredOnce(num_tasks);
  }

  Ledger ledger_;
  SimulatedClock clock_{kT0};
  std::unique_ptr<Recorder> recorder_;
  std::unique_ptr<BatchScheduler> scheduler_;
};

// --- Without workers: the test steps the scheduler with RunOnce() ----------

TEST_F(BatchSchedulerTest, RunsTasksInFifoOrderWithoutBatching) {
  BatchSchedulerOptions options;
  options.policy.max_batch_size = 4;
  Start(options, /*start_workers=*/false);
  for (int id = 0; id < 3; ++id) ASSERT_TRUE(Submit({id}).ok());
  EXPECT_EQ(scheduler_->queue_depth(), 3u);

  EXPECT_EQ(scheduler_->RunOnce(), 1u);
  EXPECT_EQ(scheduler_->RunOnce(), 1u);
  EXPECT_EQ(scheduler_->RunOnce(), 1u);
  EXPECT_EQ(scheduler_->RunOnce(), 0u);

  const std::vector<BatchRecord> batches = recorder_->batches();
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_THAT(batches[0].ids, ElementsAre(0));
  EXPECT_THAT(batches[1].ids, ElementsAre(1));
  EXPECT_THAT(batches[2].ids, ElementsAre(2));
  for (const BatchRecord& b : batches) EXPECT_EQ(b.worker, 0);
  FinishAndExpectEachAnsweredOnce(3);
}

TEST_F(BatchSchedulerTest, GroupsQueuedTasksIntoOneBatchInFifoOrder) {
  Start(DynamicOptions(8, absl::ZeroDuration()), false);
  for (int id = 0; id < 4; ++id) ASSERT_TRUE(Submit({id}).ok());

  EXPECT_EQ(scheduler_->RunOnce(), 4u);
  EXPECT_EQ(scheduler_->queue_depth(), 0u);
  const std::vector<BatchRecord> batches = recorder_->batches();
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_THAT(batches[0].ids, ElementsAre(0, 1, 2, 3));
  FinishAndExpectEachAnsweredOnce(4);
}

TEST_F(BatchSchedulerTest, FormsBatchesByRowsAndShapeKey) {
  Start(DynamicOptions(4, absl::ZeroDuration()), false);
  ASSERT_TRUE(Submit({0, /*rows=*/2}).ok());
  ASSERT_TRUE(Submit({1, /*rows=*/1}).ok());
  ASSERT_TRUE(Submit({2, /*rows=*/2}).ok());  // would make 5 > 4
  ASSERT_TRUE(Submit({3, /*rows=*/1, /*shape_key=*/9}).ok());
  ASSERT_TRUE(Submit({4, /*rows=*/1, /*shape_key=*/9}).ok());

  EXPECT_EQ(scheduler_->RunOnce(), 2u);
  EXPECT_EQ(scheduler_->RunOnce(), 1u);
  EXPECT_EQ(scheduler_->RunOnce(), 2u);
  EXPECT_EQ(scheduler_->RunOnce(), 0u);

  const std::vector<BatchRecord> batches = recorder_->batches();
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_THAT(batches[0].ids, ElementsAre(0, 1));
  EXPECT_THAT(batches[1].ids, ElementsAre(2));
  EXPECT_THAT(batches[2].ids, ElementsAre(3, 4));
  EXPECT_THAT(batches[2].shape_keys, ElementsAre(9u, 9u));
  FinishAndExpectEachAnsweredOnce(5);
}

TEST_F(BatchSchedulerTest, WaitsForMaxQueueDelayBeforeSendingPartialBatch) {
  Start(DynamicOptions(8, absl::Milliseconds(10)), false);
  ASSERT_TRUE(Submit({0}).ok());
  clock_.Advance(absl::Milliseconds(3));
  ASSERT_TRUE(Submit({1}).ok());

  EXPECT_EQ(scheduler_->RunOnce(), 0u);
  clock_.Advance(absl::Milliseconds(6));  // 9 ms after the head arrived
  EXPECT_EQ(scheduler_->RunOnce(), 0u);
  EXPECT_THAT(recorder_->batches(), IsEmpty());
  EXPECT_EQ(ledger_.answers(0), 0);

  clock_.Advance(absl::Milliseconds(1));  // the head's delay runs out
  EXPECT_EQ(scheduler_->RunOnce(), 2u);
  const std::vector<BatchRecord> batches = recorder_->batches();
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_THAT(batches[0].ids, ElementsAre(0, 1));
  FinishAndExpectEachAnsweredOnce(2);
}

TEST_F(BatchSchedulerTest, AdaptiveDelayWaitsWhileTheProcessKeepsItsCpuBusy) {
  BatchSchedulerOptions options = DynamicOptions(8, absl::Milliseconds(10));
  options.policy.adaptive_delay = true;
  absl::Duration cpu_used;  // the process's CPU time, as the test says
  options.process_cpu_time = [&cpu_used] { return cpu_used; };
  options.usable_cpus = 1;
  options.cpu_slice = absl::Microseconds(100);
  Start(options, false);
  // Every batch takes 700 us of the clock and of the CPU.
  recorder_->set_on_process([this, &cpu_used] {
    clock_.Advance(absl::Microseconds(700));
    cpu_used += absl::Microseconds(700);
  });
  // Requests of 2 rows, each as the last batch ends: 2 rows per 700 us
  // against a fixed cost of 700 us, so company is expected (r*a = 2) and
  // the worker keeps up with batches of 2 rows.
  for (int id = 0; id < 3; ++id) {
    ASSERT_TRUE(Submit({id, /*rows=*/2}).ok());
    EXPECT_EQ(scheduler_->RunOnce(), 1u);
  }
  // 50 us after the last batch, the CPU busy all that time: request 3
  // (2 rows, enough to keep up) still waits.
  clock_.Advance(absl::Microseconds(50));
  cpu_used += absl::Microseconds(50);
  ASSERT_TRUE(Submit({3, 2}).ok());
  EXPECT_EQ(scheduler_->RunOnce(), 0u);
  // A slice later, still busy: it waits on.
  clock_.Advance(absl::Microseconds(100));
  cpu_used += absl::Microseconds(100);
  EXPECT_EQ(scheduler_->RunOnce(), 0u);
  // The next slice passes nearly idle (5 us of CPU in 100 us): sent.
  clock_.Advance(absl::Microseconds(100));
  cpu_used += absl::Microseconds(5);
  EXPECT_EQ(scheduler_->RunOnce(), 1u);
  EXPECT_THAT(Ids(recorder_->batches()), ElementsAre(0, 1, 2, 3));
  FinishAndExpectEachAnsweredOnce(4);
}

TEST_F(BatchSchedulerTest, FixedDelayDoesNotReadTheCpu) {
  BatchSchedulerOptions options = DynamicOptions(8, absl::Milliseconds(1));
  int readings = 0;
  options.process_cpu_time = [&readings] {
    ++readings;
    return absl::ZeroDuration();
  };
  Start(options, false);
  ASSERT_TRUE(Submit({0}).ok());
  EXPECT_EQ(scheduler_->RunOnce(), 0u);
  clock_.Advance(absl::Milliseconds(1));
  EXPECT_EQ(scheduler_->RunOnce(), 1u);
  EXPECT_EQ(readings, 0);
  FinishAndExpectEachAnsweredOnce(1);
}

TEST_F(BatchSchedulerTest, QueueFullRefusesWithResourceExhaustedAndFailsTask) {
  BatchSchedulerOptions options = DynamicOptions(8, absl::Seconds(1));
  options.queue.default_policy.max_queue_size = 2;
  Start(options, false);
  ASSERT_TRUE(Submit({0}).ok());
  ASSERT_TRUE(Submit({1}).ok());

  const absl::Status refused = Submit({2});
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(refused.message(), HasSubstr("iris:1"));
  EXPECT_EQ(ledger_.answers(2), 1);
  EXPECT_EQ(ledger_.status(2), refused);
  EXPECT_EQ(scheduler_->queue_depth(), 2u);

  // The queued tasks are unaffected.
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(scheduler_->RunOnce(), 2u);
  EXPECT_THAT(Ids(recorder_->batches()), ElementsAre(0, 1));
  EXPECT_TRUE(ledger_.status(0).ok());
  EXPECT_TRUE(ledger_.status(1).ok());

  // Room again once the queue drained.
  ASSERT_TRUE(Submit({3}).ok());
  scheduler_.reset();
  FinishAndExpectEachAnsweredOnce(4);
}

TEST_F(BatchSchedulerTest, RefusesTaskWithMoreRowsThanMaxBatchSize) {
  Start(DynamicOptions(4, absl::ZeroDuration()), false);
  const absl::Status refused = Submit({0, /*rows=*/5});
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.message(), HasSubstr("max_batch_size"));
  EXPECT_EQ(ledger_.status(0), refused);
  EXPECT_EQ(scheduler_->queue_depth(), 0u);
  EXPECT_EQ(scheduler_->RunOnce(), 0u);
  EXPECT_THAT(recorder_->batches(), IsEmpty());
  FinishAndExpectEachAnsweredOnce(1);
}

TEST_F(BatchSchedulerTest, RefusesTaskWithZeroRows) {
  Start(DynamicOptions(4, absl::ZeroDuration()), false);
  const absl::Status refused = Submit({0, /*rows=*/0});
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ledger_.status(0), refused);
  EXPECT_EQ(scheduler_->queue_depth(), 0u);
  FinishAndExpectEachAnsweredOnce(1);
}

TEST_F(BatchSchedulerTest,
       TaskWhoseDeadlinePassesInQueueFailsWithDeadlineExceeded) {
  Start(DynamicOptions(8, absl::Milliseconds(10)), false);
  ASSERT_TRUE(Submit({0, 1, 0, kT0 + absl::Milliseconds(5)}).ok());
  ASSERT_TRUE(Submit({1}).ok());

  EXPECT_EQ(scheduler_->RunOnce(), 0u);
  EXPECT_EQ(ledger_.answers(0), 0);

  clock_.Advance(absl::Milliseconds(5));
  EXPECT_EQ(scheduler_->RunOnce(), 0u);
  EXPECT_EQ(ledger_.status(0).code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(scheduler_->queue_depth(), 1u);

  clock_.Advance(absl::Milliseconds(5));
  EXPECT_EQ(scheduler_->RunOnce(), 1u);
  EXPECT_THAT(Ids(recorder_->batches()), ElementsAre(1));
  EXPECT_TRUE(ledger_.status(1).ok());
  FinishAndExpectEachAnsweredOnce(2);
}

TEST_F(BatchSchedulerTest, QueueTimeoutFailsWaitingTaskWithDeadlineExceeded) {
  BatchSchedulerOptions options = DynamicOptions(8, absl::Milliseconds(10));
  options.queue.default_policy.timeout = absl::Milliseconds(5);
  Start(options, false);
  ASSERT_TRUE(Submit({0}).ok());  // no deadline of its own
  clock_.Advance(absl::Milliseconds(4));
  ASSERT_TRUE(Submit({1}).ok());

  clock_.Advance(absl::Milliseconds(1));  // task 0 has waited 5 ms
  EXPECT_EQ(scheduler_->RunOnce(), 0u);
  EXPECT_EQ(ledger_.status(0).code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(ledger_.answers(1), 0);

  clock_.Advance(absl::Milliseconds(4));  // task 1 has waited 5 ms
  EXPECT_EQ(scheduler_->RunOnce(), 0u);
  EXPECT_EQ(ledger_.status(1).code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(recorder_->batches(), IsEmpty());
  FinishAndExpectEachAnsweredOnce(2);
}

TEST_F(BatchSchedulerTest, QueueTimeoutDoesNotExtendTaskDeadline) {
  BatchSchedulerOptions options = DynamicOptions(8, absl::Seconds(1));
  options.queue.default_policy.timeout = absl::Milliseconds(50);
  Start(options, false);
  ASSERT_TRUE(Submit({0, 1, 0, kT0 + absl::Milliseconds(5)}).ok());
  clock_.Advance(absl::Milliseconds(5));
  EXPECT_EQ(scheduler_->RunOnce(), 0u);
  EXPECT_EQ(ledger_.status(0).code(), absl::StatusCode::kDeadlineExceeded);
  FinishAndExpectEachAnsweredOnce(1);
}

TEST_F(BatchSchedulerTest, QueueTimeoutSaysRequestTimeoutExpired) {
  BatchSchedulerOptions options = DynamicOptions(8, absl::Seconds(1));
  options.queue.default_policy.timeout = absl::Milliseconds(5);
  Start(options, false);
  ASSERT_TRUE(Submit({0}).ok());
  clock_.Advance(absl::Milliseconds(5));
  EXPECT_EQ(scheduler_->RunOnce(), 0u);
  EXPECT_EQ(ledger_.status(0).code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(ledger_.status(0).message(),
              HasSubstr("iris:1: request timeout expired while queued"));
  FinishAndExpectEachAnsweredOnce(1);
}

// --- Priorities and queue policies (queue_policy.h) ------------------------

// Three levels, default 2, one request per batch unless `max_batch_size`.
BatchSchedulerOptions ThreeLevels(int64_t max_batch_size = 1) {
  BatchSchedulerOptions options =
      DynamicOptions(max_batch_size, absl::ZeroDuration());
  options.queue.priority_levels = 3;
  options.queue.default_priority_level = 2;
  return options;
}

TEST_F(BatchSchedulerTest, HigherPriorityRunsFirstAndEachLevelIsFifo) {
  Start(ThreeLevels(), false);
  const uint64_t priorities[] = {3, 3, 0, 1, 2, 1, 3};
  for (int id = 0; id < 7; ++id) {
    ASSERT_TRUE(SubmitAt(id, priorities[id]).ok());
  }
  while (scheduler_->RunOnce() > 0) {
  }
  EXPECT_THAT(Ids(recorder_->batches()), ElementsAre(3, 5, 2, 4, 0, 1, 6));
  FinishAndExpectEachAnsweredOnce(7);
}

TEST_F(BatchSchedulerTest, ABatchTakesTheHeadOfThePriorityOrder) {
  Start(ThreeLevels(/*max_batch_size=*/3), false);
  const uint64_t priorities[] = {3, 3, 2, 1};
  for (int id = 0; id < 4; ++id) {
    ASSERT_TRUE(SubmitAt(id, priorities[id]).ok());
  }
  EXPECT_EQ(scheduler_->RunOnce(), 3u);
  EXPECT_EQ(scheduler_->RunOnce(), 1u);
  const std::vector<BatchRecord> batches = recorder_->batches();
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_THAT(batches[0].ids, ElementsAre(3, 2, 0));
  EXPECT_THAT(batches[1].ids, ElementsAre(1));
  FinishAndExpectEachAnsweredOnce(4);
}

TEST_F(BatchSchedulerTest, FullLevelRefusesWhileOtherLevelsStillQueue) {
  BatchSchedulerOptions options = ThreeLevels();
  options.queue.level_policies[3].max_queue_size = 2;
  Start(options, false);
  ASSERT_TRUE(SubmitAt(0, 3).ok());
  ASSERT_TRUE(SubmitAt(1, 3).ok());
  const absl::Status refused = SubmitAt(2, 3);
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(refused.message(),
              HasSubstr("iris:1: priority level 3: queue is full (2 requests "
                        "waiting)"));
  EXPECT_EQ(ledger_.status(2), refused);
  ASSERT_TRUE(SubmitAt(3, 1).ok());
  // Room at level 3 again once one of its requests ran.
  EXPECT_EQ(scheduler_->RunOnce(), 1u);  // task 3 (level 1)
  EXPECT_EQ(SubmitAt(4, 3).code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(scheduler_->RunOnce(), 1u);  // task 0
  ASSERT_TRUE(SubmitAt(5, 3).ok());
  while (scheduler_->RunOnce() > 0) {
  }
  EXPECT_THAT(Ids(recorder_->batches()), ElementsAre(3, 0, 1, 5));
  FinishAndExpectEachAnsweredOnce(6);
}

TEST_F(BatchSchedulerTest, PriorityThatIsNoLevelIsRefusedWithInvalidArgument) {
  Start(ThreeLevels(), false);
  const absl::Status refused = SubmitAt(0, 9);
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.message(),
              HasSubstr("iris:1: priority 9 is outside the priority levels "
                        "1..3"));
  EXPECT_EQ(ledger_.status(0), refused);
  EXPECT_EQ(scheduler_->queue_depth(), 0u);
  FinishAndExpectEachAnsweredOnce(1);
}

TEST_F(BatchSchedulerTest, ExpiredRequestOfARejectingLevelNeverRuns) {
  BatchSchedulerOptions options = ThreeLevels();
  options.queue.level_policies[1].timeout = absl::Milliseconds(5);
  Start(options, false);
  ASSERT_TRUE(SubmitAt(0, 1).ok());
  ASSERT_TRUE(SubmitAt(1, 3).ok());
  clock_.Advance(absl::Milliseconds(5));
  EXPECT_EQ(scheduler_->RunOnce(), 1u);
  EXPECT_EQ(ledger_.status(0).code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(ledger_.status(0).message(),
              HasSubstr("request timeout expired while queued (priority "
                        "level 1)"));
  EXPECT_THAT(Ids(recorder_->batches()), ElementsAre(1));
  FinishAndExpectEachAnsweredOnce(2);
}

TEST_F(BatchSchedulerTest, DelayedRequestRunsBehindItsLevelAheadOfLowerLevels) {
  BatchSchedulerOptions options = ThreeLevels();
  QueuePolicy& first = options.queue.level_policies[1];
  first.timeout = absl::Milliseconds(5);
  first.timeout_action = TimeoutAction::kDelay;
  Start(options, false);
  ASSERT_TRUE(SubmitAt(0, 1).ok());
  ASSERT_TRUE(SubmitAt(1, 2).ok());
  clock_.Advance(absl::Milliseconds(5));  // task 0 expires
  ASSERT_TRUE(SubmitAt(2, 1).ok());
  ASSERT_TRUE(SubmitAt(3, 1).ok());
  while (scheduler_->RunOnce() > 0) {
  }
  // Level 1's unexpired requests, then its delayed one, then level 2.
  EXPECT_THAT(Ids(recorder_->batches()), ElementsAre(2, 3, 0, 1));
  for (int id = 0; id < 4; ++id) EXPECT_TRUE(ledger_.status(id).ok()) << id;
  FinishAndExpectEachAnsweredOnce(4);
}

TEST_F(BatchSchedulerTest, WithoutLevelsDelayedRequestGoesBehindTheOthers) {
  BatchSchedulerOptions options = DynamicOptions(1, absl::ZeroDuration());
  options.queue.default_policy.timeout = absl::Milliseconds(5);
  options.queue.default_policy.timeout_action = TimeoutAction::kDelay;
  Start(options, false);
  ASSERT_TRUE(Submit({0}).ok());
  clock_.Advance(absl::Milliseconds(3));
  ASSERT_TRUE(Submit({1}).ok());
  clock_.Advance(absl::Milliseconds(2));  // task 0 expires, task 1 not yet
  EXPECT_EQ(scheduler_->RunOnce(), 1u);
  clock_.Advance(absl::Milliseconds(3));  // task 1 would have expired now
  EXPECT_EQ(scheduler_->RunOnce(), 1u);
  EXPECT_THAT(Ids(recorder_->batches()), ElementsAre(1, 0));
  FinishAndExpectEachAnsweredOnce(2);
}

TEST_F(BatchSchedulerTest, DelayedRequestStillFailsAtItsOwnDeadline) {
  BatchSchedulerOptions options = ThreeLevels();
  QueuePolicy& third = options.queue.level_policies[3];
  third.timeout = absl::Milliseconds(5);
  third.timeout_action = TimeoutAction::kDelay;
  Start(options, false);
  ASSERT_TRUE(
      Submit({0, 1, 0, kT0 + absl::Milliseconds(8), /*priority=*/3}).ok());
  clock_.Advance(absl::Milliseconds(5));  // delayed, not failed
  EXPECT_EQ(scheduler_->queue_depth(), 1u);
  clock_.Advance(absl::Milliseconds(3));  // its own deadline
  EXPECT_EQ(scheduler_->RunOnce(), 0u);
  EXPECT_EQ(ledger_.status(0).code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(ledger_.status(0).message(), HasSubstr("deadline passed"));
  FinishAndExpectEachAnsweredOnce(1);
}

TEST_F(BatchSchedulerTest, RequestTimeoutShortensTheLevelsWhereAllowed) {
  BatchSchedulerOptions options = ThreeLevels();
  QueuePolicy& first = options.queue.level_policies[1];
  first.timeout = absl::Milliseconds(50);
  first.allow_timeout_override = true;
  Start(options, false);
  TaskSpec quick{0, 1, 0, absl::InfiniteFuture(), 1, absl::Milliseconds(2)};
  TaskSpec patient{1, 1, 0, absl::InfiniteFuture(), 1, absl::Seconds(10)};
  ASSERT_TRUE(Submit(quick).ok());
  ASSERT_TRUE(Submit(patient).ok());
  clock_.Advance(absl::Milliseconds(2));
  EXPECT_EQ(scheduler_->RunOnce(), 1u);
  EXPECT_EQ(ledger_.status(0).code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(ledger_.answers(1), 1);
  EXPECT_TRUE(ledger_.status(1).ok());
  FinishAndExpectEachAnsweredOnce(2);
}

TEST_F(BatchSchedulerTest, DelayedRequestsKeepTheOrderTheyWereDelayedIn) {
  BatchSchedulerOptions options = ThreeLevels(/*max_batch_size=*/3);
  options.policy.max_queue_delay = absl::Hours(1);
  QueuePolicy& first = options.queue.level_policies[1];
  first.timeout = absl::Milliseconds(5);
  first.timeout_action = TimeoutAction::kDelay;
  Start(options, false);
  ASSERT_TRUE(SubmitAt(0, 1).ok());
  clock_.Advance(absl::Milliseconds(2));
  ASSERT_TRUE(SubmitAt(1, 1).ok());
  clock_.Advance(absl::Milliseconds(3));  // task 0 expires
  EXPECT_EQ(scheduler_->RunOnce(), 0u);   // 2 rows wait for a third
  clock_.Advance(absl::Milliseconds(1));
  ASSERT_TRUE(SubmitAt(2, 1).ok());
  clock_.Advance(absl::Milliseconds(1));  // task 1 expires, behind task 0
  EXPECT_EQ(scheduler_->RunOnce(), 3u);
  const std::vector<BatchRecord> batches = recorder_->batches();
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_THAT(batches[0].ids, ElementsAre(2, 0, 1));
  FinishAndExpectEachAnsweredOnce(3);
}

TEST_F(BatchSchedulerTest, RequestThatLeftTheQueueFreesItsPlaceAtItsLevel) {
  BatchSchedulerOptions options = ThreeLevels();
  QueuePolicy& third = options.queue.level_policies[3];
  third.max_queue_size = 1;
  third.timeout = absl::Milliseconds(5);
  Start(options, false);
  ASSERT_TRUE(SubmitAt(0, 3).ok());
  EXPECT_EQ(SubmitAt(1, 3).code(), absl::StatusCode::kResourceExhausted);
  clock_.Advance(absl::Milliseconds(5));  // task 0 is rejected
  EXPECT_EQ(scheduler_->RunOnce(), 0u);
  ASSERT_TRUE(SubmitAt(2, 3).ok());
  FakeTask* cancelled = SubmitAndKeep({3, 1, 0, absl::InfiniteFuture(), 1});
  EXPECT_EQ(SubmitAt(4, 3).code(), absl::StatusCode::kResourceExhausted);
  cancelled->Cancel();
  EXPECT_EQ(scheduler_->RunOnce(), 1u);  // task 3 dropped, task 2 runs
  ASSERT_TRUE(SubmitAt(5, 3).ok());
  EXPECT_EQ(scheduler_->RunOnce(), 1u);
  EXPECT_THAT(Ids(recorder_->batches()), ElementsAre(2, 5));
  FinishAndExpectEachAnsweredOnce(6);
}

TEST_F(BatchSchedulerTest, DelayedRequestHoldsOnePlaceAtItsLevel) {
  BatchSchedulerOptions options = ThreeLevels(/*max_batch_size=*/8);
  options.policy.max_queue_delay = absl::Hours(1);
  QueuePolicy& third = options.queue.level_policies[3];
  third.max_queue_size = 2;
  third.timeout = absl::Milliseconds(5);
  third.timeout_action = TimeoutAction::kDelay;
  Start(options, false);
  ASSERT_TRUE(SubmitAt(0, 3).ok());
  clock_.Advance(absl::Milliseconds(5));
  EXPECT_EQ(scheduler_->RunOnce(), 0u);  // task 0 delayed, still queued
  ASSERT_TRUE(SubmitAt(1, 3).ok());
  EXPECT_EQ(SubmitAt(2, 3).code(), absl::StatusCode::kResourceExhausted);
  FinishAndExpectEachAnsweredOnce(3);
}

// With workers: the worker parks until the next thing due, here task 1's
// queue timeout rather than its batch delay of an hour.
TEST_F(BatchSchedulerTest, WorkerRejectsExpiredRequestAtItsTimeout) {
  BatchSchedulerOptions options = ThreeLevels(/*max_batch_size=*/8);
  options.policy.max_queue_delay = absl::Hours(1);
  options.queue.level_policies[2].timeout = absl::Milliseconds(5);
  Start(options, /*start_workers=*/true, /*blocking_processor=*/true);
  // A full batch at level 1 runs at once and is held in the processor.
  ASSERT_TRUE(Submit({0, 8, 0, absl::InfiniteFuture(), 1}).ok());
  ASSERT_TRUE(recorder_->AwaitInFlight(1));
  ASSERT_TRUE(Submit({1}).ok());  // level 2: waits for company
  recorder_->Release();
  // The worker is back on the clock, having seen task 1 queued.
  clock_.BlockUntilWaiters(1);
  clock_.Advance(absl::Milliseconds(5));
  ASSERT_TRUE(ledger_.AwaitTotal(2));
  EXPECT_EQ(ledger_.status(1).code(), absl::StatusCode::kDeadlineExceeded);
  scheduler_.reset();
  EXPECT_THAT(Ids(recorder_->batches()), ElementsAre(0));
  FinishAndExpectEachAnsweredOnce(2);
}

TEST_F(BatchSchedulerTest, CancelledTaskIsDroppedWithCancelled) {
  Start(DynamicOptions(8, absl::ZeroDuration()), false);
  ASSERT_TRUE(Submit({0}).ok());
  FakeTask* cancelled = SubmitAndKeep({1});
  ASSERT_TRUE(Submit({2}).ok());
  cancelled->Cancel();

  EXPECT_EQ(scheduler_->RunOnce(), 2u);
  EXPECT_EQ(ledger_.status(1).code(), absl::StatusCode::kCancelled);
  const std::vector<BatchRecord> batches = recorder_->batches();
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_THAT(batches[0].ids, ElementsAre(0, 2));
  FinishAndExpectEachAnsweredOnce(3);
}

TEST_F(BatchSchedulerTest, DestructorRunsEverythingStillQueued) {
  Start(DynamicOptions(2, absl::Hours(1)), false);
  ASSERT_TRUE(Submit({0}).ok());
  ASSERT_TRUE(Submit({1, 1, /*shape_key=*/5}).ok());
  ASSERT_TRUE(Submit({2, 1, /*shape_key=*/5}).ok());
  ASSERT_TRUE(Submit({3, 1, /*shape_key=*/5}).ok());
  ASSERT_TRUE(Submit({4, 1, 0, kT0 + absl::Milliseconds(1)}).ok());
  EXPECT_EQ(scheduler_->RunOnce(), 1u);   // task 0 alone: next shape differs
  clock_.Advance(absl::Milliseconds(1));  // task 4 expires; nothing else due

  scheduler_.reset();

  const std::vector<BatchRecord> batches = recorder_->batches();
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_THAT(batches[0].ids, ElementsAre(0));
  EXPECT_THAT(batches[1].ids, ElementsAre(1, 2));
  EXPECT_THAT(batches[2].ids, ElementsAre(3));
  for (int id = 0; id < 4; ++id) EXPECT_TRUE(ledger_.status(id).ok()) << id;
  EXPECT_EQ(ledger_.status(4).code(), absl::StatusCode::kDeadlineExceeded);
  FinishAndExpectEachAnsweredOnce(5);
}

TEST_F(BatchSchedulerTest, FailAndProcessorRunWithoutSchedulerLockHeld) {
  // Each callback calls back into the scheduler; were a scheduler lock held
  // around it, the test thread would deadlock on itself.
  BatchSchedulerOptions options = DynamicOptions(8, absl::ZeroDuration());
  options.queue.default_policy.max_queue_size = 2;
  Start(options, false);
  // Shared so that callbacks stay valid should the scheduler outlive them.
  auto depth_seen_in_fail = std::make_shared<std::vector<size_t>>();
  auto depth_seen_in_processor = std::make_shared<std::vector<size_t>>();
  BatchScheduler* const scheduler = scheduler_.get();
  recorder_->set_on_process([scheduler, depth_seen_in_processor] {
    depth_seen_in_processor->push_back(scheduler->queue_depth());
  });
  auto expiring = std::make_unique<FakeTask>(
      TaskSpec{0, 1, /*shape_key=*/1, kT0 + absl::Milliseconds(1)}, &ledger_);
  expiring->set_on_fail([scheduler, depth_seen_in_fail] {
    depth_seen_in_fail->push_back(scheduler->queue_depth());
  });
  ASSERT_TRUE(scheduler_->Submit(std::move(expiring)).ok());
  ASSERT_TRUE(Submit({1}).ok());
  auto refused = std::make_unique<FakeTask>(TaskSpec{2}, &ledger_);
  refused->set_on_fail([scheduler, depth_seen_in_fail] {
    depth_seen_in_fail->push_back(scheduler->queue_depth());
  });
  EXPECT_EQ(scheduler_->Submit(std::move(refused)).code(),
            absl::StatusCode::kResourceExhausted);

  clock_.Advance(absl::Milliseconds(1));
  EXPECT_EQ(scheduler_->RunOnce(), 1u);

  EXPECT_THAT(*depth_seen_in_fail, ElementsAre(2u, 1u));
  EXPECT_THAT(*depth_seen_in_processor, ElementsAre(0u));
  EXPECT_EQ(ledger_.status(0).code(), absl::StatusCode::kDeadlineExceeded);
  FinishAndExpectEachAnsweredOnce(3);
}

TEST(BatchSchedulerCreateTest, RejectsZeroWorkers) {
  SimulatedClock clock;
  BatchSchedulerOptions options = DynamicOptions(8, absl::ZeroDuration());
  options.num_workers = 0;
  auto scheduler = BatchScheduler::Create(
      options, [](int, Batch) {}, &clock, false);
  ASSERT_FALSE(scheduler.ok());
  EXPECT_EQ(scheduler.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(scheduler.status().message(), HasSubstr("expected >= 1, got 0"));
}

TEST(BatchSchedulerCreateTest, RejectsInvalidPolicy) {
  SimulatedClock clock;
  BatchSchedulerOptions options = DynamicOptions(0, absl::ZeroDuration());
  auto scheduler = BatchScheduler::Create(
      options, [](int, Batch) {}, &clock, false);
  ASSERT_FALSE(scheduler.ok());
  EXPECT_EQ(scheduler.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(scheduler.status().message(), HasSubstr("max_batch_size"));
}

TEST(BatchSchedulerCreateTest, RejectsNegativeQueueTimeout) {
  SimulatedClock clock;
  BatchSchedulerOptions options = DynamicOptions(8, absl::ZeroDuration());
  options.queue.default_policy.timeout = -absl::Milliseconds(1);
  auto scheduler = BatchScheduler::Create(
      options, [](int, Batch) {}, &clock, false);
  ASSERT_FALSE(scheduler.ok());
  EXPECT_EQ(scheduler.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(scheduler.status().message(), HasSubstr("timeout"));
}

// --- With worker threads and a simulated clock ------------------------------

TEST_F(BatchSchedulerTest,
       WorkerFlushesPartialBatchWhenClockPassesMaxQueueDelay) {
  Start(DynamicOptions(8, absl::Milliseconds(10)), /*start_workers=*/true);
  clock_.BlockUntilWaiters(1);  // the worker is parked on the empty queue
  ASSERT_TRUE(Submit({0}).ok());
  ASSERT_TRUE(Submit({1}).ok());

  clock_.Advance(absl::Milliseconds(10));
  ASSERT_TRUE(recorder_->AwaitBatches(1));
  ASSERT_TRUE(ledger_.AwaitTotal(2));

  const std::vector<BatchRecord> batches = recorder_->batches();
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_THAT(batches[0].ids, ElementsAre(0, 1));
  EXPECT_EQ(batches[0].worker, 0);
  scheduler_.reset();
  FinishAndExpectEachAnsweredOnce(2);
}

TEST_F(BatchSchedulerTest, WorkerFailsQueuedTaskWhenClockPassesItsDeadline) {
  Start(DynamicOptions(8, absl::Hours(1)), /*start_workers=*/true);
  clock_.BlockUntilWaiters(1);
  ASSERT_TRUE(Submit({0, 1, 0, kT0 + absl::Milliseconds(5)}).ok());

  clock_.Advance(absl::Milliseconds(5));
  ASSERT_TRUE(ledger_.AwaitTotal(1));
  EXPECT_EQ(ledger_.status(0).code(), absl::StatusCode::kDeadlineExceeded);
  scheduler_.reset();
  EXPECT_THAT(recorder_->batches(), IsEmpty());
  FinishAndExpectEachAnsweredOnce(1);
}

TEST_F(BatchSchedulerTest, NWorkersRunNBatchesConcurrently) {
  constexpr int kWorkers = 3;
  BatchSchedulerOptions options;
  options.policy.max_batch_size = 1;
  options.num_workers = kWorkers;
  Start(options, /*start_workers=*/true, /*blocking_processor=*/true);
  for (int id = 0; id < kWorkers; ++id) ASSERT_TRUE(Submit({id}).ok());

  // Every worker holds one batch inside the processor at the same time.
  ASSERT_TRUE(recorder_->AwaitInFlight(kWorkers));
  std::set<int> workers;
  for (const BatchRecord& b : recorder_->batches()) workers.insert(b.worker);
  EXPECT_THAT(workers, UnorderedElementsAre(0, 1, 2));

  recorder_->Release();
  scheduler_.reset();
  EXPECT_EQ(recorder_->max_in_flight(), kWorkers);
  FinishAndExpectEachAnsweredOnce(kWorkers);
}

#ifdef __linux__
// The server starts everything in SCHED_BATCH (common/thread_scheduling.h);
// workers must still run their batches in the default class, or request
// threads would preempt them mid-batch.
TEST_F(BatchSchedulerTest, WorkersRunInDefaultClassWhenStartedFromBatchClass) {
  std::atomic<int> in_batch_class{-1};
  ASSERT_TRUE(RunInBatchClass().ok());
  ASSERT_TRUE(InBatchClass());
  recorder_ = std::make_unique<Recorder>();
  recorder_->set_on_process([&] { in_batch_class = InBatchClass() ? 1 : 0; });
  auto scheduler = BatchScheduler::Create(
      BatchSchedulerOptions{}, recorder_->processor(), &clock_, true);
  RunInDefaultClass();
  ASSERT_TRUE(scheduler.ok()) << scheduler.status();
  scheduler_ = std::move(*scheduler);
  EXPECT_FALSE(InBatchClass());

  ASSERT_TRUE(Submit({0}).ok());
  ASSERT_TRUE(recorder_->AwaitBatches(1));
  EXPECT_EQ(in_batch_class.load(), 0);
  FinishAndExpectEachAnsweredOnce(1);
}
#endif

TEST_F(BatchSchedulerTest, TasksQueuedWhileWorkerBusyFormTheNextBatch) {
  Start(DynamicOptions(8, absl::ZeroDuration()), /*start_workers=*/true,
        /*blocking_processor=*/true);
  ASSERT_TRUE(Submit({0}).ok());
  ASSERT_TRUE(recorder_->AwaitInFlight(1));
  for (int id = 1; id < 4; ++id) ASSERT_TRUE(Submit({id}).ok());
  EXPECT_EQ(scheduler_->queue_depth(), 3u);

  recorder_->Release();
  ASSERT_TRUE(recorder_->AwaitBatches(2));
  scheduler_.reset();
  const std::vector<BatchRecord> batches = recorder_->batches();
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_THAT(batches[0].ids, ElementsAre(0));
  EXPECT_THAT(batches[1].ids, ElementsAre(1, 2, 3));
  FinishAndExpectEachAnsweredOnce(4);
}

TEST_F(BatchSchedulerTest,
       DestroyingSchedulerWithWorkersAnswersQueuedTasksOnce) {
  BatchSchedulerOptions options = DynamicOptions(2, absl::Hours(1));
  options.num_workers = 2;
  Start(options, /*start_workers=*/true);
  clock_.BlockUntilWaiters(2);
  constexpr int kTasks = 7;
  for (int id = 0; id < kTasks; ++id) {
    ASSERT_TRUE(
        Submit({id, 1, /*shape_key=*/static_cast<uint64_t>(id % 2)}).ok());
  }

  scheduler_.reset();

  std::vector<int> ids = Ids(recorder_->batches());
  std::sort(ids.begin(), ids.end());
  EXPECT_THAT(ids, ElementsAre(0, 1, 2, 3, 4, 5, 6));
  for (int id = 0; id < kTasks; ++id)
    EXPECT_TRUE(ledger_.status(id).ok()) << id;
  FinishAndExpectEachAnsweredOnce(kTasks);
}

TEST_F(BatchSchedulerTest, StressEveryTaskAnsweredOnceInValidFifoBatches) {
  constexpr int kSubmitters = 4;
  constexpr int kTasksEach = 500;
  constexpr int64_t kMaxBatch = 8;
  BatchSchedulerOptions options =
      DynamicOptions(kMaxBatch, absl::ZeroDuration());
  options.num_workers = 2;
  Start(options, /*start_workers=*/true);

  std::vector<std::thread> submitters;
  for (int s = 0; s < kSubmitters; ++s) {
    submitters.emplace_back([this, s] {
      std::mt19937 rng(s + 1);  // fixed seeds: the same inputs every run
      std::uniform_int_distribution<int64_t> rows(1, 4);
      std::uniform_int_distribution<uint64_t> shape(0, 1);
      for (int i = 0; i < kTasksEach; ++i) {
        const TaskSpec spec{s * kTasksEach + i, rows(rng), shape(rng)};
        EXPECT_TRUE(Submit(spec).ok());
      }
    });
  }
  for (std::thread& t : submitters) t.join();
  scheduler_.reset();

  const std::vector<BatchRecord> batches = recorder_->batches();
  size_t tasks_in_batches = 0;
  for (const BatchRecord& b : batches) {
    tasks_in_batches += b.ids.size();
    ASSERT_FALSE(b.ids.empty());
    EXPECT_LE(b.total_rows(), kMaxBatch);
    for (uint64_t key : b.shape_keys) EXPECT_EQ(key, b.shape_keys.front());
    // FIFO: a submitter's tasks appear in the order it submitted them.
    std::map<int, int> last_seq;
    for (int id : b.ids) {
      const int submitter = id / kTasksEach;
      const int seq = id % kTasksEach;
      auto it = last_seq.find(submitter);
      if (it != last_seq.end()) {
        EXPECT_LT(it->second, seq) << "task " << id;
      }
      last_seq[submitter] = seq;
    }
  }
  EXPECT_EQ(tasks_in_batches, static_cast<size_t>(kSubmitters * kTasksEach));
  FinishAndExpectEachAnsweredOnce(kSubmitters * kTasksEach);
  for (int id = 0; id < kSubmitters * kTasksEach; ++id) {
    ASSERT_TRUE(ledger_.status(id).ok()) << id;
  }
}

}  // namespace
}  // namespace inferd::batching
