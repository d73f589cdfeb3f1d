#ifndef INFERD_BATCHING_QUEUE_POLICY_H_
#define INFERD_BATCHING_QUEUE_POLICY_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "batching/batch_policy.h"

namespace inferd::batching {

// Priorities and queue timeouts: where a request waits in a scheduler's
// queue, how long, and what happens when that time is up. Pure functions of
// their arguments (no clock, no threads); BatchScheduler applies them.
//
// The queue is kept in priority order: level 1 (the highest) first; within a
// level, the requests whose queue timeout has not passed, then those moved
// behind them when it passed (TimeoutAction::kDelay); FIFO within each of
// those. DecideBatch() takes batches from the head of that order.

// Most priority levels a queue may have. Each level costs a counter and a
// policy; no deployment needs more than a handful.
inline constexpr int kMaxPriorityLevels = 1024;

// What happens to a request still queued when its queue timeout passes.
enum class TimeoutAction {
  // It is failed (DeadlineExceeded) and never executed.
  kReject,
  // It stays queued, behind every request of its own and of higher levels
  // whose timeout has not passed (and ahead of lower levels).
  kDelay,
};

// How one priority level treats its requests.
struct QueuePolicy {
  // Most requests waiting at this level; one more is refused with
  // ResourceExhausted. 0: unbounded.
  size_t max_queue_size = 0;
  // How long a request may wait at this level before `timeout_action`.
  // Zero: no timeout. Must be >= 0.
  absl::Duration timeout = absl::ZeroDuration();
  // Whether a request's own timeout replaces `timeout` when it is shorter
  // (or when `timeout` is zero). Without it, a request's timeout is ignored.
  bool allow_timeout_override = false;
  TimeoutAction timeout_action = TimeoutAction::kReject;
};

// Priority levels and the queue policy of each.
struct QueueOptions {
  // Number of priority levels, 1 the highest, in [0, kMaxPriorityLevels].
  // 0: no priorities; every request waits at one level (numbered 0) under
  // `default_policy`.
  int priority_levels = 0;
  // The level of a request that names none (priority 0). In
  // [1, priority_levels] when there are levels; else 0.
  int default_priority_level = 0;
  // The policy of every level without an entry in `level_policies`.
  QueuePolicy default_policy;
  // Policies of single levels; keys in [1, priority_levels].
  std::map<int, QueuePolicy> level_policies;

  // The policy of `level`.
  const QueuePolicy& ForLevel(int level) const;
};

// Checks the options; InvalidArgument names the field and the allowed range.
absl::Status ValidateQueueOptions(const QueueOptions& options);

// Most requests all levels together may hold: the sum of every level's
// max_queue_size; 0 when any level is unbounded.
size_t QueueCapacity(const QueueOptions& options);

// Where a new request waits and until when.
struct Placement {
  int level = 0;
  // When its queue timeout passes; absl::InfiniteFuture() for never.
  absl::Time expires = absl::InfiniteFuture();
  TimeoutAction timeout_action = TimeoutAction::kReject;
};

// Places a request that asks for `priority` (0: the default level) and
// `timeout` (zero: none of its own) arriving at `now`, given how many
// requests already wait at each level (`waiting[level]`, one entry per level
// 0..priority_levels). Errors:
//  - InvalidArgument: `priority` is not a level ("priority 9 is outside the
//    priority levels 1..3"), or is not 0 when there are no levels;
//  - ResourceExhausted: its level already holds max_queue_size requests.
// The timeout is the level's, or the request's own where the level allows
// an override and the request's is shorter (or the level has none).
absl::StatusOr<Placement> PlaceRequest(const QueueOptions& options,
                                       uint64_t priority,
                                       absl::Duration timeout, absl::Time now,
                                       const std::vector<size_t>& waiting);

// The index in `queue` (in priority order, see above) at which an item of
// `level` goes: after every item of a higher level, and of its own level
// unless that item was delayed while this one is not; before every item of a
// lower level. A new request so queues FIFO at its level, and a delayed one
// behind its level's delayed ones. O(1) when it goes last (always, without
// priorities), else O(log n).
size_t InsertionIndex(const std::deque<QueuedItem>& queue, int level,
                      bool delayed);

// What becomes of a queued item at `now`: nothing (its timeout has not
// passed, or it was delayed already), or its timeout action.
enum class Expiry { kNone, kReject, kDelay };
inline Expiry CheckExpiry(const QueuedItem& item, absl::Time now) {
  if (item.delayed || now < item.expires) return Expiry::kNone;
  return item.delay_when_expired ? Expiry::kDelay : Expiry::kReject;
}

}  // namespace inferd::batching

#endif  // INFERD_BATCHING_QUEUE_POLICY_H_
