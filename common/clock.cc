#include "common/clock.h"

#include <algorithm>

namespace inferd {

bool WallClock::AwaitWithDeadline(absl::Mutex* mu, const absl::Condition& cond,
                                  absl::Time deadline) const {
  if (deadline == absl::InfiniteFuture()) {
    mu->Await(cond);
    return true;
  }
  return mu->AwaitWithDeadline(cond, deadline);
}

Clock* RealClock() {
  static WallClock* const clock = new WallClock();
  return clock;
}

namespace {

struct DeadlineOrCondition {
  const SimulatedClock* clock;
  const absl::Condition* cond;
  absl::Time deadline;
  bool Holds() const { return cond->Eval() || clock->Now() >= deadline; }
};

}  // namespace

bool SimulatedClock::AwaitWithDeadline(absl::Mutex* mu,
                                       const absl::Condition& cond,
                                       absl::Time deadline) const {
  {
    absl::MutexLock lock(&mu_);
    waiting_.push_back(mu);
  }
  DeadlineOrCondition wait{this, &cond, deadline};
  mu->Await(absl::Condition(&wait, &DeadlineOrCondition::Holds));
  {
    absl::MutexLock lock(&mu_);
    waiting_.erase(std::find(waiting_.begin(), waiting_.end(), mu));
  }
  return cond.Eval();
}

void SimulatedClock::Advance(absl::Duration d) {
  now_ns_.fetch_add(absl::ToInt64Nanoseconds(d), std::memory_order_acq_rel);
  std::vector<absl::Mutex*> to_wake;
  {
    absl::MutexLock lock(&mu_);
    to_wake = waiting_;
  }
  // absl::Mutex re-evaluates waiters' conditions when it is released, so a
  // lock/unlock cycle lets each waiter see the new time.
  for (absl::Mutex* mu : to_wake) {
    mu->Lock();
    mu->Unlock();
  }
}

int SimulatedClock::waiters() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(waiting_.size());
}

void SimulatedClock::BlockUntilWaiters(int n) const {
  absl::MutexLock lock(&mu_);
  auto enough = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return static_cast<int>(waiting_.size()) >= n;
  };
  mu_.Await(absl::Condition(&enough));
}

}  // namespace inferd
