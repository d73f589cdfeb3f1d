// The shared worker pool: fair shares by worker time, the instance bound of
// each queue, draining a queue that goes away, and no credit banked while
// idle. Job costs are simulated: each processor advances a SimulatedClock
// by its model's cost, so the pool's accounting is deterministic.

#include "batching/worker_pool.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "batching/batch_scheduler.h"
#include "common/clock.h"
#include "gtest/gtest.h"

namespace inferd::batching {
namespace {

class OneRowTask final : public BatchTask {
 public:
  explicit OneRowTask(std::atomic<int>* failed) : failed_(failed) {}
  int64_t rows() const override { return 1; }
  uint64_t shape_key() const override { return 0; }
  absl::Time deadline() const override { return absl::InfiniteFuture(); }
  bool cancelled() const override { return false; }
  void Fail(const absl::Status&) override { failed_->fetch_add(1); }

 private:
  std::atomic<int>* failed_;
};

// One batch per request, sent at once.
BatchSchedulerOptions Unbatched(const std::string& name, int instances) {
  BatchSchedulerOptions options;
  options.name = name;
  options.num_workers = instances;
  return options;
}

// What ran, in order: the queue's name per batch.
class RunLog {
 public:
  // Returns how many ran, this one included.
  size_t Add(const std::string& name) {
    absl::MutexLock lock(&mu_);
    order_.push_back(name);
    return order_.size();
  }
  std::vector<std::string> order() const {
    absl::MutexLock lock(&mu_);
    return order_;
  }
  bool AwaitCount(size_t n) const {
    absl::MutexLock lock(&mu_);
    auto reached = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return order_.size() >= n;
    };
    return mu_.AwaitWithTimeout(absl::Condition(&reached), absl::Seconds(60));
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<std::string> order_ ABSL_GUARDED_BY(mu_);
};

class WorkerPoolTest : public ::testing::Test {
 protected:
  // A scheduler on `pool` whose batches cost `cost` of simulated time; the
  // first batch of any queue waits for `gate_` when `gated`.
  std::unique_ptr<BatchScheduler> Queue(const std::string& name,
                                        WorkerPool* pool, absl::Duration cost,
                                        int instances = 1) {
    auto processor = [this, name, cost](int, Batch batch) {
      gate_.WaitForNotification();
      clock_.Advance(cost);
      if (log_.Add(name) == pause_after_) resume_.WaitForNotification();
      batch.clear();
    };
    auto scheduler =
        BatchScheduler::Create(Unbatched(name, instances), processor, &clock_,
                               std::vector<WorkerPool*>(instances, pool));
    EXPECT_TRUE(scheduler.ok()) << scheduler.status();
    return std::move(*scheduler);
  }

  void Submit(BatchScheduler* scheduler, int n) {
    for (int i = 0; i < n; ++i) {
      ASSERT_TRUE(
          scheduler->Submit(std::make_unique<OneRowTask>(&failed_)).ok());
    }
  }

  SimulatedClock clock_;
  absl::Notification gate_;
  // The batch that ran as number pause_after_ holds its worker until resume_.
  size_t pause_after_ = 0;
  absl::Notification resume_;
  RunLog log_;
  std::atomic<int> failed_{0};
};

TEST_F(WorkerPoolTest, QueuesShareOneWorkerByTimeNotByBatches) {
  WorkerPool pool("cpu", 1, &clock_);
  // "fast" batches cost 1 ms, "slow" ones 3 ms: equal shares of the worker
  // mean three fast batches per slow one.
  auto fast = Queue("fast", &pool, absl::Milliseconds(1));
  auto slow = Queue("slow", &pool, absl::Milliseconds(3));
  Submit(fast.get(), 90);
  Submit(slow.get(), 30);
  gate_.Notify();
  ASSERT_TRUE(log_.AwaitCount(120));
  const std::vector<std::string> order = log_.order();
  // Until either queue runs dry, the worker time the two got never differs
  // by more than one slow batch.
  double fast_ms = 0;
  double slow_ms = 0;
  int fast_done = 0;
  int slow_done = 0;
  for (const std::string& name : order) {
    if (fast_done == 90 || slow_done == 30) break;
    if (name == "fast") {
      fast_ms += 1;
      ++fast_done;
    } else {
      slow_ms += 3;
      ++slow_done;
    }
    EXPECT_LE(std::abs(fast_ms - slow_ms), 3.0)
        << "after " << fast_done << " fast and " << slow_done << " slow";
  }
  EXPECT_EQ(failed_.load(), 0);
}

TEST_F(WorkerPoolTest, EqualQueuesAlternate) {
  WorkerPool pool("cpu", 1, &clock_);
  auto a = Queue("a", &pool, absl::Milliseconds(2));
  auto b = Queue("b", &pool, absl::Milliseconds(2));
  Submit(a.get(), 20);
  Submit(b.get(), 20);
  gate_.Notify();
  ASSERT_TRUE(log_.AwaitCount(40));
  const std::vector<std::string> order = log_.order();
  int a_count = 0;
  for (size_t i = 0; i < order.size(); ++i) {
    a_count += order[i] == "a";
    // Each prefix is split evenly, within one batch.
    EXPECT_LE(std::abs(2 * a_count - static_cast<int>(i + 1)), 2) << i;
  }
}

TEST_F(WorkerPoolTest, AQueueThatWasIdleBanksNoCredit) {
  WorkerPool pool("cpu", 1, &clock_);
  auto busy = Queue("busy", &pool, absl::Milliseconds(1));
  auto late = Queue("late", &pool, absl::Milliseconds(1));
  gate_.Notify();
  // "busy" runs 50 batches while "late" has nothing queued; the 50th holds
  // the worker while both queues fill.
  pause_after_ = 50;
  Submit(busy.get(), 50);
  ASSERT_TRUE(log_.AwaitCount(50));
  Submit(busy.get(), 20);
  Submit(late.get(), 20);
  resume_.Notify();
  ASSERT_TRUE(log_.AwaitCount(90));
  const std::vector<std::string> order = log_.order();
  // Without the idle rule "late" would be owed 50 ms and run 20 batches in a
  // row; with it, the two alternate from the start.
  int late_in_first_ten = 0;
  for (size_t i = 50; i < 60; ++i) late_in_first_ten += order[i] == "late";
  EXPECT_GE(late_in_first_ten, 4);
  EXPECT_LE(late_in_first_ten, 6);
  EXPECT_EQ(order.size(), 90u);
}

TEST_F(WorkerPoolTest, InstanceCountBoundsBatchesAtOnceOnAWiderPool) {
  WorkerPool pool("cpu", 4, &clock_);
  std::atomic<int> running{0};
  std::atomic<int> most{0};
  std::atomic<int> done{0};
  std::vector<std::atomic<int>> on_instance(2);
  auto processor = [&](int instance, Batch batch) {
    const int now = running.fetch_add(1) + 1;
    int seen = most.load();
    while (now > seen && !most.compare_exchange_weak(seen, now)) {
    }
    // Two batches never share an instance.
    EXPECT_EQ(on_instance[instance].fetch_add(1), 0);
    absl::SleepFor(absl::Milliseconds(2));
    on_instance[instance].fetch_sub(1);
    running.fetch_sub(1);
    batch.clear();
    done.fetch_add(1);
  };
  auto scheduler =
      BatchScheduler::Create(Unbatched("two", 2), processor, &clock_,
                             std::vector<WorkerPool*>{&pool, &pool});
  ASSERT_TRUE(scheduler.ok()) << scheduler.status();
  Submit(scheduler->get(), 40);
  scheduler->reset();  // drains through the pool
  EXPECT_EQ(done.load(), 40);
  EXPECT_LE(most.load(), 2);
  EXPECT_EQ(pool.queues(), 0);
}

TEST_F(WorkerPoolTest, ARetiredQueueDrainsWhileTheOthersKeepServing) {
  WorkerPool pool("cpu", 2, &clock_);
  auto old_version = Queue("old", &pool, absl::Milliseconds(1));
  auto other = Queue("other", &pool, absl::Milliseconds(1));
  EXPECT_EQ(pool.queues(), 2);
  Submit(old_version.get(), 10);
  Submit(other.get(), 10);
  gate_.Notify();
  old_version.reset();  // returns once its 10 ran
  const std::vector<std::string> order = log_.order();
  EXPECT_EQ(std::count(order.begin(), order.end(), "old"), 10);
  EXPECT_EQ(pool.queues(), 1);
  Submit(other.get(), 5);
  ASSERT_TRUE(log_.AwaitCount(25));
  EXPECT_EQ(failed_.load(), 0);
}

TEST(WorkerPoolCreateTest, EveryInstanceNeedsAPool) {
  SimulatedClock clock;
  WorkerPool pool("cpu", 1, &clock);
  auto processor = [](int, Batch) {};
  auto missing = BatchScheduler::Create(Unbatched("m", 2), processor, &clock,
                                        std::vector<WorkerPool*>{&pool});
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  auto null_pool =
      BatchScheduler::Create(Unbatched("m", 2), processor, &clock,
                             std::vector<WorkerPool*>{&pool, nullptr});
  EXPECT_EQ(null_pool.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(pool.queues(), 0);
}

TEST(WorkerPoolsTest, OnePoolPerDeviceSizedByKind) {
  SimulatedClock clock;
  WorkerPools pools(3, 2, &clock);
  WorkerPool* cpu = pools.ForDevice("cpu");
  EXPECT_EQ(pools.ForDevice("cpu"), cpu);
  EXPECT_EQ(cpu->threads(), 3);
  WorkerPool* gpu = pools.ForDevice("cuda:0");
  EXPECT_NE(gpu, cpu);
  EXPECT_EQ(gpu->threads(), 2);
  EXPECT_NE(pools.ForDevice("cuda:1"), gpu);
}

}  // namespace
}  // namespace inferd::batching
