#include "batching/queue_policy.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace inferd::batching {
namespace {

// The queue's sort key: level, then not-delayed before delayed.
bool Before(int level_a, bool delayed_a, int level_b, bool delayed_b) {
  return level_a < level_b || (level_a == level_b && !delayed_a && delayed_b);
}

std::string LevelRange(const QueueOptions& options) {
  return absl::StrCat("1..", options.priority_levels);
}

absl::StatusOr<int> ResolveLevel(const QueueOptions& options,
                                 uint64_t priority) {
  if (options.priority_levels == 0) {
    if (priority != 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "priority ", priority,
          " cannot be honoured: there are no priority levels (send priority "
          "0, or none)"));
    }
    return 0;
  }
  if (priority == 0) return options.default_priority_level;
  if (priority > static_cast<uint64_t>(options.priority_levels)) {
    return absl::InvalidArgumentError(
        absl::StrCat("priority ", priority, " is outside the priority levels ",
                     LevelRange(options), " (0 or none: the default level ",
                     options.default_priority_level, ")"));
  }
  return static_cast<int>(priority);
}

}  // namespace

const QueuePolicy& QueueOptions::ForLevel(int level) const {
  if (level_policies.empty()) return default_policy;
  auto it = level_policies.find(level);
  return it == level_policies.end() ? default_policy : it->second;
}

absl::Status ValidateQueueOptions(const QueueOptions& options) {
  const int levels = options.priority_levels;
  if (levels < 0 || levels > kMaxPriorityLevels) {
    return absl::InvalidArgumentError(
        absl::StrCat("priority_levels: expected 0 to ", kMaxPriorityLevels,
                     ", got ", levels));
  }
  if (levels == 0 && options.default_priority_level != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "default_priority_level: expected 0 without priority levels, got ",
        options.default_priority_level));
  }
  if (levels > 0 && (options.default_priority_level < 1 ||
                     options.default_priority_level > levels)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "default_priority_level: expected ", LevelRange(options),
        " (priority_levels), got ", options.default_priority_level));
  }
  auto check = [](const QueuePolicy& policy,
                  absl::string_view where) -> absl::Status {
    if (policy.timeout < absl::ZeroDuration()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, " timeout: expected >= 0"));
    }
    return absl::OkStatus();
  };
  if (absl::Status s = check(options.default_policy, "default queue policy");
      !s.ok()) {
    return s;
  }
  for (const auto& [level, policy] : options.level_policies) {
    if (level < 1 || level > levels) {
      return absl::InvalidArgumentError(absl::StrCat(
          "queue policy for priority level ", level, ": expected levels ",
          levels == 0 ? "none" : LevelRange(options), " (priority_levels)"));
    }
    if (absl::Status s =
            check(policy, absl::StrCat("priority level ", level, " queue"));
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

size_t QueueCapacity(const QueueOptions& options) {
  if (options.priority_levels == 0) {
    return options.default_policy.max_queue_size;
  }
  const size_t own = options.level_policies.size();
  const size_t with_default = options.priority_levels - own;
  if (with_default > 0 && options.default_policy.max_queue_size == 0) return 0;
  size_t total = with_default * options.default_policy.max_queue_size;
  for (const auto& [level, policy] : options.level_policies) {
    if (policy.max_queue_size == 0) return 0;
    total += policy.max_queue_size;
  }
  return total;
}

absl::StatusOr<Placement> PlaceRequest(const QueueOptions& options,
                                       uint64_t priority,
                                       absl::Duration timeout, absl::Time now,
                                       const std::vector<size_t>& waiting) {
  absl::StatusOr<int> level = ResolveLevel(options, priority);
  if (!level.ok()) return level.status();
  const QueuePolicy& policy = options.ForLevel(*level);
  const size_t queued =
      static_cast<size_t>(*level) < waiting.size() ? waiting[*level] : 0;
  if (policy.max_queue_size > 0 && queued >= policy.max_queue_size) {
    return absl::ResourceExhaustedError(absl::StrCat(
        options.priority_levels > 0
            ? absl::StrCat("priority level ", *level, ": ")
            : "",
        "queue is full (", policy.max_queue_size, " requests waiting)"));
  }
  Placement placement;
  placement.level = *level;
  placement.timeout_action = policy.timeout_action;
  absl::Duration wait = policy.timeout;
  if (policy.allow_timeout_override && timeout > absl::ZeroDuration() &&
      (wait == absl::ZeroDuration() || timeout < wait)) {
    wait = timeout;
  }
  if (wait > absl::ZeroDuration()) placement.expires = now + wait;
  return placement;
}

size_t InsertionIndex(const std::deque<QueuedItem>& queue, int level,
                      bool delayed) {
  if (queue.empty() ||
      !Before(level, delayed, queue.back().level, queue.back().delayed)) {
    return queue.size();
  }
  auto it = std::upper_bound(
      queue.begin(), queue.end(), std::make_pair(level, delayed),
      [](const std::pair<int, bool>& key, const QueuedItem& item) {
        return Before(key.first, key.second, item.level, item.delayed);
      });
  return static_cast<size_t>(it - queue.begin());
}

}  // namespace inferd::batching
