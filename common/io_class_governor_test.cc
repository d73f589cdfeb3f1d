#include "common/io_class_governor.h"

#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "common/full_file_table.h"
#include "common/thread_scheduling.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace inferd {
namespace {

using ::testing::HasSubstr;

pid_t Tid() { return static_cast<pid_t>(syscall(SYS_gettid)); }

TEST(SharedCpuDetectorTest, SharedAtOnceOwnAgainAfterQuietReadingsInARow) {
  SharedCpuDetector detector({.shared_above_cpus = 0.1, .quiet_readings = 3});
  EXPECT_FALSE(detector.shared());
  EXPECT_TRUE(detector.Observe(0.0));
  EXPECT_TRUE(detector.Observe(0.1));  // at the threshold: not above
  EXPECT_FALSE(detector.Observe(0.5));
  EXPECT_TRUE(detector.shared());
  EXPECT_FALSE(detector.Observe(0.0));
  EXPECT_FALSE(detector.Observe(0.05));
  // A loud reading starts the count again.
  EXPECT_FALSE(detector.Observe(1.0));
  EXPECT_FALSE(detector.Observe(0.0));
  EXPECT_FALSE(detector.Observe(0.0));
  EXPECT_TRUE(detector.Observe(0.0));  // the third quiet one in a row
  EXPECT_FALSE(detector.shared());
}

constexpr char kProcStat[] =
    "cpu  1000 20 300 9000 5 7 11 0 0 0\n"
    "cpu0 400 10 100 4500 2 3 5 0 0 0\n"
    "cpu1 600 10 200 4500 3 4 6 0 0 0\n"
    "intr 123456 1 2 3\n"
    "ctxt 99999\n";

TEST(BusyTimeOfCpusTest, SumsUserNiceSystemOfTheCpusAsked) {
  EXPECT_EQ(*BusyTimeOfCpus(kProcStat, {1}, 100), absl::Seconds(8.1));
  EXPECT_EQ(*BusyTimeOfCpus(kProcStat, {0, 1}, 100), absl::Seconds(13.2));
  // Not the "cpu" total line, not a CPU the text lacks.
  EXPECT_EQ(*BusyTimeOfCpus(kProcStat, {7}, 100), absl::ZeroDuration());
  EXPECT_EQ(*BusyTimeOfCpus(kProcStat, {0}, 1000), absl::Seconds(0.51));
}

TEST(BusyTimeOfCpusTest, MalformedTextNamesTheLine) {
  absl::StatusOr<absl::Duration> short_line =
      BusyTimeOfCpus("cpu3 1 2\n", {3}, 100);
  EXPECT_THAT(short_line.status().message(),
              HasSubstr("line of cpu3 has 2 counters, expected at least 3"));
  absl::StatusOr<absl::Duration> not_a_count =
      BusyTimeOfCpus("cpu0 1 x 3 4\n", {0}, 100);
  EXPECT_THAT(not_a_count.status().message(),
              HasSubstr("counter 2 is not a count of ticks: 'x'"));
  EXPECT_FALSE(BusyTimeOfCpus(kProcStat, {0}, 0).ok());
}

// A thread that records its id and class and runs until told to end;
// `body` runs first on it.
class Held {
 public:
  explicit Held(std::function<void()> body = [] {})
      : thread_([this, body = std::move(body)] {
          tid_ = Tid();
          body();
          started_.Notify();
          end_.WaitForNotification();
        }) {
    started_.WaitForNotification();
  }
  ~Held() {
    end_.Notify();
    thread_.join();
  }
  pid_t tid() const { return tid_; }
  int policy() const { return sched_getscheduler(tid_); }

 private:
  absl::Notification started_;
  absl::Notification end_;
  std::atomic<pid_t> tid_{0};
  std::thread thread_;
};

IoClassGovernor::Reading At(double at_s, double cpus_busy_s,
                            double process_used_s) {
  return {absl::UnixEpoch() + absl::Seconds(at_s), absl::Seconds(cpus_busy_s),
          absl::Seconds(process_used_s)};
}

// The test thread plays the server's main thread (in SCHED_BATCH); `io` a
// gRPC thread it started; `worker` a model worker and `torch` a thread the
// worker started.
TEST(IoClassGovernorTest, MovesIoThreadsOnlyAndFollowsTheReadings) {
  ASSERT_TRUE(RunInBatchClass().ok());
  {
    Held io;
    std::unique_ptr<Held> torch;
    Held worker([&torch] {
      static thread_local std::unique_ptr<ModelThread> mark;
      mark = std::make_unique<ModelThread>();
      torch = std::make_unique<Held>();
    });
    ASSERT_EQ(io.policy(), SCHED_BATCH);
    ASSERT_EQ(worker.policy(), SCHED_OTHER);
    ASSERT_EQ(torch->policy(), SCHED_OTHER);
    EXPECT_TRUE(ModelThread::Is(worker.tid()));
    EXPECT_FALSE(ModelThread::Is(io.tid()));

    IoClassGovernor::Options options;
    options.detector = {.shared_above_cpus = 0.1, .quiet_readings = 2};
    IoClassGovernor governor(options);
    EXPECT_TRUE(governor.batch());
    governor.Step(At(0, 10, 1));
    // Others used (0.9 - 0.4) s of the 1 s: half a CPU.
    governor.Step(At(1, 10.9, 1.4));
    EXPECT_FALSE(governor.batch());
    EXPECT_EQ(governor.switches(), 1);
    EXPECT_EQ(io.policy(), SCHED_OTHER);
    EXPECT_FALSE(InBatchClass());  // the main thread too
    EXPECT_EQ(worker.policy(), SCHED_OTHER);
    EXPECT_EQ(torch->policy(), SCHED_OTHER);

    // A thread the I/O threads start now follows them.
    Held late;
    governor.Step(At(2, 11.4, 1.9));  // only the process: quiet
    EXPECT_FALSE(governor.batch());
    governor.Step(At(3, 11.95, 2.4));  // 0.05 CPUs of others: quiet
    EXPECT_TRUE(governor.batch());
    EXPECT_EQ(governor.switches(), 2);
    EXPECT_EQ(io.policy(), SCHED_BATCH);
    EXPECT_EQ(late.policy(), SCHED_BATCH);
    EXPECT_TRUE(InBatchClass());
    EXPECT_EQ(worker.policy(), SCHED_OTHER);
    EXPECT_EQ(torch->policy(), SCHED_OTHER);
    torch.reset();
  }
  RunInDefaultClass();
}

TEST(IoClassGovernorTest, ReadingsWithoutTimePassingChangeNothing) {
  ASSERT_TRUE(RunInBatchClass().ok());
  IoClassGovernor governor({});
  governor.Step(At(5, 0, 0));
  governor.Step(At(5, 100, 0));  // no time between: no rate
  governor.Step(At(4, 200, 0));  // time going back: none either
  EXPECT_TRUE(governor.batch());
  EXPECT_EQ(governor.switches(), 0);
  RunInDefaultClass();
}

// With no file descriptor left, /proc cannot be read: no reading (rather
// than one that looks quiet), and the threads already known still move.
TEST(IoClassGovernorTest, FullFileTableGivesNoReadingAndKeepsTheThreads) {
  ASSERT_TRUE(RunInBatchClass().ok());
  {
    Held io;
    IoClassGovernor::Options options;
    options.detector = {.shared_above_cpus = 0.1, .quiet_readings = 1};
    IoClassGovernor governor(options);
    governor.Step(At(0, 0, 0));
    FullFileTable full;
    ASSERT_TRUE(full.filled());
    const bool read = IoClassGovernor::ReadProcess().has_value();
    governor.Step(At(1, 1, 0));  // others: a whole CPU
    const int policy = io.policy();
    full.Release();
    EXPECT_FALSE(read);
    EXPECT_FALSE(governor.batch());
    EXPECT_EQ(policy, SCHED_OTHER);
    governor.Step(At(2, 1, 1));  // quiet again
    EXPECT_TRUE(governor.batch());
    EXPECT_EQ(io.policy(), SCHED_BATCH);
  }
  RunInDefaultClass();
}

TEST(IoClassGovernorTest, ItsThreadReadsEveryPeriodUntilDestroyed) {
  ASSERT_TRUE(RunInBatchClass().ok());
  std::atomic<int> readings{0};
  {
    IoClassGovernor::Options options;
    options.period = absl::Milliseconds(1);
    options.reader = [&readings] {
      // Others keep a whole CPU busy.
      const int n = readings.fetch_add(1);
      return std::optional<IoClassGovernor::Reading>(At(n, 2 * n, n));
    };
    IoClassGovernor governor(options);
    governor.Start();
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (governor.batch() && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(1));
    }
    EXPECT_FALSE(governor.batch());
    EXPECT_FALSE(InBatchClass());
  }
  const int after_stop = readings.load();
  absl::SleepFor(absl::Milliseconds(20));
  EXPECT_EQ(readings.load(), after_stop);
  RunInDefaultClass();
}

TEST(IoClassGovernorTest, ReadsThisProcessAndItsCpus) {
  const std::optional<IoClassGovernor::Reading> first =
      IoClassGovernor::ReadProcess();
  ASSERT_TRUE(first.has_value());
  // Burn some CPU time: both counters move.
  const absl::Time until = absl::Now() + absl::Milliseconds(50);
  volatile uint64_t spin = 0;
  while (absl::Now() < until) spin = spin + 1;
  const std::optional<IoClassGovernor::Reading> second =
      IoClassGovernor::ReadProcess();
  ASSERT_TRUE(second.has_value());
  EXPECT_GT(second->process_used, first->process_used);
  EXPECT_GE(second->cpus_busy, first->cpus_busy);
  EXPECT_GT(second->cpus_busy, absl::ZeroDuration());
  EXPECT_GT(second->at, first->at);
}

}  // namespace
}  // namespace inferd
