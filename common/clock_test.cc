#include "common/clock.h"

#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace inferd {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1000);

// State a waiter thread blocks on; `ready` is guarded by `mu`.
struct Flag {
  absl::Mutex mu;
  bool ready ABSL_GUARDED_BY(mu) = false;
  bool IsReady() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return ready; }
};

// Runs clock->AwaitWithDeadline(flag, deadline) on its own thread; `done` is
// notified with the result once the call returns.
class Waiter {
 public:
  Waiter(const Clock* clock, Flag* flag, absl::Time deadline)
      : thread_([this, clock, flag, deadline] {
          absl::MutexLock lock(&flag->mu);
          result_ = clock->AwaitWithDeadline(
              &flag->mu, absl::Condition(flag, &Flag::IsReady), deadline);
          done_.Notify();
        }) {}
  ~Waiter() { Join(); }

  void Join() {
    if (thread_.joinable()) thread_.join();
  }
  bool returned() const { return done_.HasBeenNotified(); }
  // REQUIRES: Join() was called.
  bool result() const { return result_; }

 private:
  bool result_ = false;
  absl::Notification done_;
  std::thread thread_;
};

TEST(SimulatedClockTest, NowStartsAtTheGivenTime) {
  SimulatedClock clock(kStart);
  EXPECT_EQ(clock.Now(), kStart);
}

TEST(SimulatedClockTest, DefaultStartIsUnixEpoch) {
  SimulatedClock clock;
  EXPECT_EQ(clock.Now(), absl::UnixEpoch());
}

TEST(SimulatedClockTest, NowMovesOnlyWithAdvance) {
  SimulatedClock clock(kStart);
  EXPECT_EQ(clock.Now(), kStart);
  EXPECT_EQ(clock.Now(), kStart);
  clock.Advance(absl::Milliseconds(250));
  EXPECT_EQ(clock.Now(), kStart + absl::Milliseconds(250));
  clock.Advance(absl::Seconds(3));
  EXPECT_EQ(clock.Now(), kStart + absl::Milliseconds(3250));
}

TEST(SimulatedClockTest, AwaitReturnsTrueAtOnceWhenConditionHolds) {
  SimulatedClock clock(kStart);
  Flag flag;
  absl::MutexLock lock(&flag.mu);
  flag.ready = true;
  EXPECT_TRUE(clock.AwaitWithDeadline(&flag.mu,
                                      absl::Condition(&flag, &Flag::IsReady),
                                      absl::InfiniteFuture()));
  EXPECT_EQ(clock.waiters(), 0);
  EXPECT_EQ(clock.Now(), kStart);
}

TEST(SimulatedClockTest, AwaitReturnsFalseAtOnceWhenDeadlineAlreadyPassed) {
  SimulatedClock clock(kStart);
  Flag flag;
  absl::MutexLock lock(&flag.mu);
  EXPECT_FALSE(clock.AwaitWithDeadline(
      &flag.mu, absl::Condition(&flag, &Flag::IsReady), kStart));
  EXPECT_FALSE(clock.AwaitWithDeadline(&flag.mu,
                                       absl::Condition(&flag, &Flag::IsReady),
                                       kStart - absl::Seconds(1)));
  EXPECT_EQ(clock.waiters(), 0);
}

TEST(SimulatedClockTest, AwaitReturnsFalseOnceAdvancePassesTheDeadline) {
  SimulatedClock clock(kStart);
  Flag flag;
  Waiter waiter(&clock, &flag, kStart + absl::Seconds(10));
  clock.BlockUntilWaiters(1);

  // Short of the deadline: the condition the waiter blocks on stays false, so
  // it cannot have returned once Advance() is done re-evaluating it.
  clock.Advance(absl::Seconds(9));
  EXPECT_FALSE(waiter.returned());
  EXPECT_EQ(clock.waiters(), 1);

  clock.Advance(absl::Seconds(1));
  waiter.Join();
  EXPECT_FALSE(waiter.result());
  EXPECT_EQ(clock.waiters(), 0);
}

TEST(SimulatedClockTest, AdvanceFarPastTheDeadlineWakesTheWaiter) {
  SimulatedClock clock(kStart);
  Flag flag;
  Waiter waiter(&clock, &flag, kStart + absl::Milliseconds(1));
  clock.BlockUntilWaiters(1);
  clock.Advance(absl::Hours(1));
  waiter.Join();
  EXPECT_FALSE(waiter.result());
}

TEST(SimulatedClockTest, AwaitWakesWhenAnotherThreadMakesConditionTrue) {
  SimulatedClock clock(kStart);
  Flag flag;
  Waiter waiter(&clock, &flag, kStart + absl::Hours(1));
  clock.BlockUntilWaiters(1);
  {
    absl::MutexLock lock(&flag.mu);
    flag.ready = true;
  }
  waiter.Join();
  EXPECT_TRUE(waiter.result());
  EXPECT_EQ(clock.Now(), kStart);
  EXPECT_EQ(clock.waiters(), 0);
}

TEST(SimulatedClockTest, AwaitWithInfiniteDeadlineIgnoresAdvance) {
  SimulatedClock clock(kStart);
  Flag flag;
  Waiter waiter(&clock, &flag, absl::InfiniteFuture());
  clock.BlockUntilWaiters(1);
  clock.Advance(absl::Hours(24 * 365));
  EXPECT_FALSE(waiter.returned());
  {
    absl::MutexLock lock(&flag.mu);
    flag.ready = true;
  }
  waiter.Join();
  EXPECT_TRUE(waiter.result());
}

TEST(SimulatedClockTest, AdvanceWakesOnlyWaitersWhoseDeadlinePassed) {
  SimulatedClock clock(kStart);
  Flag flag;
  Waiter early(&clock, &flag, kStart + absl::Seconds(1));
  Waiter late(&clock, &flag, kStart + absl::Seconds(5));
  clock.BlockUntilWaiters(2);

  clock.Advance(absl::Seconds(2));
  early.Join();
  EXPECT_FALSE(early.result());
  EXPECT_FALSE(late.returned());
  EXPECT_EQ(clock.waiters(), 1);

  clock.Advance(absl::Seconds(3));
  late.Join();
  EXPECT_FALSE(late.result());
  EXPECT_EQ(clock.waiters(), 0);
}

TEST(WallClockTest, AwaitWithPastDeadlineReturnsAtOnceWithConditionValue) {
  WallClock clock;
  Flag flag;
  absl::MutexLock lock(&flag.mu);
  const absl::Time past = absl::Now() - absl::Hours(1);
  EXPECT_FALSE(clock.AwaitWithDeadline(
      &flag.mu, absl::Condition(&flag, &Flag::IsReady), past));
  EXPECT_FALSE(clock.AwaitWithDeadline(
      &flag.mu, absl::Condition(&flag, &Flag::IsReady), absl::InfinitePast()));
  flag.ready = true;
  EXPECT_TRUE(clock.AwaitWithDeadline(
      &flag.mu, absl::Condition(&flag, &Flag::IsReady), past));
}

TEST(WallClockTest, AwaitWithInfiniteDeadlineReturnsTrueWhenConditionHolds) {
  WallClock clock;
  Flag flag;
  absl::MutexLock lock(&flag.mu);
  flag.ready = true;
  EXPECT_TRUE(clock.AwaitWithDeadline(&flag.mu,
                                      absl::Condition(&flag, &Flag::IsReady),
                                      absl::InfiniteFuture()));
}

TEST(RealClockTest, ReturnsTheSameInstanceEveryTime) {
  ASSERT_NE(RealClock(), nullptr);
  EXPECT_EQ(RealClock(), RealClock());
}

}  // namespace
}  // namespace inferd
