#ifndef INFERD_COMMON_CLOCK_H_
#define INFERD_COMMON_CLOCK_H_

#include <atomic>
#include <cstdint>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace inferd {

// Time source for everything that waits: the batcher and the model manager
// take a Clock so tests can drive time by hand. Implementations are
// thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;

  virtual absl::Time Now() const = 0;

  // Blocks until `cond` holds or the clock reaches `deadline`, whichever comes
  // first. Returns whether `cond` held on return.
  // REQUIRES: `mu` is held by the caller; it is held again on return.
  virtual bool AwaitWithDeadline(absl::Mutex* mu, const absl::Condition& cond,
                                 absl::Time deadline) const = 0;
};

// The wall clock; a process-lifetime instance is returned by RealClock().
class WallClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
  bool AwaitWithDeadline(absl::Mutex* mu, const absl::Condition& cond,
                         absl::Time deadline) const override;
};

// Returns a WallClock that lives for the whole process (it has no state).
Clock* RealClock();

// A clock that moves only when a test calls Advance(). Waiters blocked in
// AwaitWithDeadline() wake when the simulated time passes their deadline.
// Thread-safe.
class SimulatedClock final : public Clock {
 public:
  explicit SimulatedClock(absl::Time start = absl::UnixEpoch())
      : now_ns_(absl::ToUnixNanos(start)) {}

  absl::Time Now() const override {
    return absl::FromUnixNanos(now_ns_.load(std::memory_order_acquire));
  }

  bool AwaitWithDeadline(absl::Mutex* mu, const absl::Condition& cond,
                         absl::Time deadline) const override;

  // Moves time forward by `d` and wakes every waiter whose deadline passed.
  void Advance(absl::Duration d);

  // Number of threads currently blocked in AwaitWithDeadline(); lets a test
  // wait until background threads have parked before it advances time.
  int waiters() const;

  // Blocks (in real time) until at least `n` threads wait on this clock.
  void BlockUntilWaiters(int n) const;

 private:
  // Simulated time in Unix nanoseconds. Atomic so that conditions evaluated
  // under other mutexes can read it.
  std::atomic<int64_t> now_ns_;

  mutable absl::Mutex mu_;
  // Mutexes of the threads now waiting; Advance() cycles each so that absl
  // re-evaluates the waiter's condition against the new time.
  mutable std::vector<absl::Mutex*> waiting_ ABSL_GUARDED_BY(mu_);
};

}  // namespace inferd

#endif  // INFERD_COMMON_CLOCK_H_
