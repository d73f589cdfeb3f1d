#include "batching/batch_policy.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace inferd::batching {

absl::Status ValidateBatchPolicyOptions(const BatchPolicyOptions& options) {
  if (options.max_batch_size < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_batch_size: expected >= 1, got ", options.max_batch_size));
  }
  if (options.max_queue_delay < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "max_queue_delay_microseconds: expected >= 0");
  }
  int64_t previous = 0;
  for (int64_t size : options.preferred_batch_sizes) {
    if (size < 1 || size > options.max_batch_size) {
      return absl::InvalidArgumentError(absl::StrCat(
          "preferred_batch_size: expected values in [1, ",
          options.max_batch_size, "] (max_batch_size), got ", size));
    }
    if (size <= previous) {
      return absl::InvalidArgumentError(absl::StrCat(
          "preferred_batch_size: expected strictly ascending values, got ",
          size, " after ", previous));
    }
    previous = size;
  }
  return absl::OkStatus();
}

int64_t SustainableBatchRows(const LoadEstimate& load, int64_t max_batch_size) {
  if (!load.known) return 1;
  const double rows_per_second =
      load.arrivals_per_second * load.rows_per_request;
  const double during_fixed_cost = rows_per_second * load.batch_cost;
  if (during_fixed_cost < 1) return 1;
  const double busy = rows_per_second * load.row_cost;
  if (busy >= 1) return max_batch_size;  // overloaded: as big as allowed
  const double rows = std::ceil(during_fixed_cost / (1 - busy));
  return static_cast<int64_t>(
      std::clamp(rows, 1.0, static_cast<double>(max_batch_size)));
}

BatchDecision DecideBatch(const std::deque<QueuedItem>& queue, absl::Time now,
                          const BatchPolicyOptions& options, bool flush,
                          const LoadEstimate& load) {
  BatchDecision decision;
  if (queue.empty()) return decision;
  if (!options.dynamic_batching) {
    decision.count = 1;
    return decision;
  }

  const QueuedItem& head = queue.front();
  int64_t rows = 0;
  size_t count = 0;
  bool can_grow = true;
  absl::Time oldest = head.enqueued;
  for (const QueuedItem& item : queue) {
    if (item.shape_key != head.shape_key ||
        rows + item.rows > options.max_batch_size) {
      can_grow = false;
      break;
    }
    rows += item.rows;
    ++count;
    oldest = std::min(oldest, item.enqueued);
  }
  // A head larger than max_batch_size is refused on submission; sending it
  // alone keeps the queue moving should one slip through.
  if (count == 0) count = 1;

  const auto& preferred = options.preferred_batch_sizes;
  const bool preferred_reached =
      !preferred.empty() &&
      (rows >= preferred.back() ||
       std::binary_search(preferred.begin(), preferred.end(), rows));
  const absl::Time delay_ends = oldest + options.max_queue_delay;
  if (flush || !can_grow || rows >= options.max_batch_size ||
      preferred_reached || now >= delay_ends) {
    decision.count = count;
    return decision;
  }
  if (!options.adaptive_delay) {
    decision.wake_at = delay_ends;
    return decision;
  }
  const int64_t target = SustainableBatchRows(load, options.max_batch_size);
  if (rows >= target) {
    // The worker keeps up with this batch. Waiting on still pays when the
    // CPUs are saturated: the batch would take its CPU from the threads
    // receiving the rows that are coming, and one batch fewer leaves more of
    // it to them. The first reading after a batch tells whether they are;
    // then the batch waits until a slice passes nearly idle (the clients'
    // own turnaround leaves short gaps that do not mean nothing is coming).
    const CpuLoad& cpu = load.cpu;
    if (target > 1 && cpu.measured && cpu.next_sample > now &&
        (cpu.busy < 0 ||
         (cpu.busy_since_batch >= kCpuSaturated && cpu.busy >= kCpuActive))) {
      decision.wake_at = std::min(cpu.next_sample, delay_ends);
      return decision;
    }
    decision.count = count;
    return decision;
  }
  // Wait for the rows expected to bring the batch to `target`.
  const double rows_per_second =
      load.arrivals_per_second * load.rows_per_request;
  const absl::Time expected =
      now + absl::Seconds(static_cast<double>(target - rows) / rows_per_second);
  decision.wake_at = std::min(expected, delay_ends);
  return decision;
}

}  // namespace inferd::batching
