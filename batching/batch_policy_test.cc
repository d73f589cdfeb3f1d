#include "batching/batch_policy.h"

#include <deque>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace inferd::batching {
namespace {

using ::testing::HasSubstr;

const absl::Time kT0 = absl::FromUnixSeconds(1000);

QueuedItem Item(int64_t rows, uint64_t shape_key = 0,
                absl::Time enqueued = kT0) {
  return QueuedItem{rows, shape_key, enqueued};
}

BatchPolicyOptions Dynamic(int64_t max_batch_size, absl::Duration delay,
                           std::vector<int64_t> preferred = {}) {
  BatchPolicyOptions options;
  options.max_batch_size = max_batch_size;
  options.dynamic_batching = true;
  options.max_queue_delay = delay;
  options.preferred_batch_sizes = std::move(preferred);
  return options;
}

// --- DecideBatch -----------------------------------------------------------

TEST(DecideBatchTest, EmptyQueueWaitsForever) {
  const BatchDecision decision =
      DecideBatch({}, kT0, Dynamic(8, absl::Milliseconds(10)), false);
  EXPECT_EQ(decision.count, 0u);
  EXPECT_EQ(decision.wake_at, absl::InfiniteFuture());
}

TEST(DecideBatchTest, EmptyQueueWaitsForeverEvenWhenFlushing) {
  const BatchDecision decision =
      DecideBatch({}, kT0, Dynamic(8, absl::Milliseconds(10)), true);
  EXPECT_EQ(decision.count, 0u);
  EXPECT_EQ(decision.wake_at, absl::InfiniteFuture());
}

TEST(DecideBatchTest, EmptyQueueWithoutBatchingWaitsForever) {
  const BatchDecision decision =
      DecideBatch({}, kT0, BatchPolicyOptions{}, false);
  EXPECT_EQ(decision.count, 0u);
  EXPECT_EQ(decision.wake_at, absl::InfiniteFuture());
}

TEST(DecideBatchTest, WithoutDynamicBatchingSendsHeadAloneAtOnce) {
  BatchPolicyOptions options = Dynamic(8, absl::Seconds(1));
  options.dynamic_batching = false;
  const std::deque<QueuedItem> queue = {Item(1), Item(1), Item(1)};
  const BatchDecision decision = DecideBatch(queue, kT0, options, false);
  EXPECT_EQ(decision.count, 1u);
}

TEST(DecideBatchTest, WaitsForMoreRowsUntilHeadDelayRunsOut) {
  const std::deque<QueuedItem> queue = {
      Item(1, 0, kT0), Item(1, 0, kT0 + absl::Milliseconds(4))};
  const BatchDecision decision =
      DecideBatch(queue, kT0 + absl::Milliseconds(5),
                  Dynamic(8, absl::Milliseconds(10)), false);
  EXPECT_EQ(decision.count, 0u);
  // The head's delay, not the newest request's, sets the wake-up time.
  EXPECT_EQ(decision.wake_at, kT0 + absl::Milliseconds(10));
}

// With priorities a request that arrived later can be ahead of older ones:
// the delay still counts from the oldest request of the batch.
TEST(DecideBatchTest, DelayCountsFromTheOldestRequestOfTheBatch) {
  const std::deque<QueuedItem> queue = {Item(1, 0, kT0 + absl::Milliseconds(8)),
                                        Item(1, 0, kT0)};
  const BatchPolicyOptions options = Dynamic(8, absl::Milliseconds(10));
  BatchDecision decision =
      DecideBatch(queue, kT0 + absl::Milliseconds(9), options, false);
  EXPECT_EQ(decision.count, 0u);
  EXPECT_EQ(decision.wake_at, kT0 + absl::Milliseconds(10));
  decision = DecideBatch(queue, kT0 + absl::Milliseconds(10), options, false);
  EXPECT_EQ(decision.count, 2u);
}

TEST(DecideBatchTest, WaitingJustBeforeDelayEndsStillWaits) {
  const std::deque<QueuedItem> queue = {Item(1, 0, kT0)};
  const BatchDecision decision =
      DecideBatch(queue, kT0 + absl::Milliseconds(10) - absl::Nanoseconds(1),
                  Dynamic(8, absl::Milliseconds(10)), false);
  EXPECT_EQ(decision.count, 0u);
  EXPECT_EQ(decision.wake_at, kT0 + absl::Milliseconds(10));
}

TEST(DecideBatchTest, SendsEverythingQueuedWhenHeadDelayRunsOut) {
  const std::deque<QueuedItem> queue = {
      Item(1, 0, kT0), Item(2, 0, kT0 + absl::Milliseconds(4)),
      Item(1, 0, kT0 + absl::Milliseconds(9))};
  const BatchDecision at_delay =
      DecideBatch(queue, kT0 + absl::Milliseconds(10),
                  Dynamic(8, absl::Milliseconds(10)), false);
  EXPECT_EQ(at_delay.count, 3u);
  const BatchDecision after_delay = DecideBatch(
      queue, kT0 + absl::Seconds(5), Dynamic(8, absl::Milliseconds(10)), false);
  EXPECT_EQ(after_delay.count, 3u);
}

TEST(DecideBatchTest, SendsAtOnceWhenRowsReachMaxBatchSize) {
  const std::deque<QueuedItem> queue = {Item(4), Item(4)};
  const BatchDecision decision =
      DecideBatch(queue, kT0, Dynamic(8, absl::Seconds(1)), false);
  EXPECT_EQ(decision.count, 2u);
}

TEST(DecideBatchTest, SendsAtOnceWhenSingleRequestFillsMaxBatchSize) {
  const std::deque<QueuedItem> queue = {Item(8), Item(1)};
  const BatchDecision decision =
      DecideBatch(queue, kT0, Dynamic(8, absl::Seconds(1)), false);
  EXPECT_EQ(decision.count, 1u);
}

TEST(DecideBatchTest, StopsBeforeRequestThatWouldOverflowAndSendsAtOnce) {
  // 3 + 3 = 6 rows; the third request would make 9 > 8, so the batch cannot
  // grow any further and there is no point waiting.
  const std::deque<QueuedItem> queue = {Item(3), Item(3), Item(3)};
  const BatchDecision decision =
      DecideBatch(queue, kT0, Dynamic(8, absl::Seconds(1)), false);
  EXPECT_EQ(decision.count, 2u);
}

TEST(DecideBatchTest, DoesNotSkipOverflowingRequestToTakeALaterSmallerOne) {
  // FIFO: the 1-row request behind the 7-row one would fit, but may not
  // overtake it.
  const std::deque<QueuedItem> queue = {Item(2), Item(7), Item(1)};
  const BatchDecision decision =
      DecideBatch(queue, kT0, Dynamic(8, absl::Seconds(1)), false);
  EXPECT_EQ(decision.count, 1u);
}

TEST(DecideBatchTest, RequestWithAnotherShapeEndsBatchAndSendsAtOnce) {
  const std::deque<QueuedItem> queue = {
      Item(1, /*shape_key=*/7), Item(1, /*shape_key=*/7),
      Item(1, /*shape_key=*/9), Item(1, /*shape_key=*/7)};
  const BatchDecision decision =
      DecideBatch(queue, kT0, Dynamic(8, absl::Seconds(1)), false);
  EXPECT_EQ(decision.count, 2u);
}

TEST(DecideBatchTest, HeadWithUniqueShapeIsSentAloneAtOnce) {
  const std::deque<QueuedItem> queue = {Item(1, 1), Item(1, 2), Item(1, 2)};
  const BatchDecision decision =
      DecideBatch(queue, kT0, Dynamic(8, absl::Seconds(1)), false);
  EXPECT_EQ(decision.count, 1u);
}

TEST(DecideBatchTest, SendsAtOnceAtExactPreferredSize) {
  const std::deque<QueuedItem> queue = {Item(1), Item(1)};
  const BatchDecision decision =
      DecideBatch(queue, kT0, Dynamic(8, absl::Seconds(1), {2, 4}), false);
  EXPECT_EQ(decision.count, 2u);
}

TEST(DecideBatchTest, SendsAtOnceWhenRowsReachLargestPreferredSize) {
  const std::deque<QueuedItem> queue = {Item(2), Item(3)};
  const BatchDecision decision =
      DecideBatch(queue, kT0, Dynamic(8, absl::Seconds(1), {2, 4}), false);
  EXPECT_EQ(decision.count, 2u);
}

TEST(DecideBatchTest, WaitsWhenRowsFallBetweenPreferredSizes) {
  const std::deque<QueuedItem> queue = {Item(1), Item(2)};
  const BatchDecision decision =
      DecideBatch(queue, kT0, Dynamic(8, absl::Seconds(1), {2, 4}), false);
  EXPECT_EQ(decision.count, 0u);
  EXPECT_EQ(decision.wake_at, kT0 + absl::Seconds(1));
}

TEST(DecideBatchTest, WaitsWhenRowsAreBelowSmallestPreferredSize) {
  const std::deque<QueuedItem> queue = {Item(1)};
  const BatchDecision decision =
      DecideBatch(queue, kT0, Dynamic(8, absl::Seconds(1), {2, 4}), false);
  EXPECT_EQ(decision.count, 0u);
  EXPECT_EQ(decision.wake_at, kT0 + absl::Seconds(1));
}

TEST(DecideBatchTest, FlushSendsAtOnceWithoutWaitingForDelay) {
  const std::deque<QueuedItem> queue = {Item(1), Item(1)};
  const BatchDecision decision =
      DecideBatch(queue, kT0, Dynamic(8, absl::Seconds(1)), /*flush=*/true);
  EXPECT_EQ(decision.count, 2u);
}

TEST(DecideBatchTest, FlushStillRespectsMaxBatchSizeAndShape) {
  const BatchPolicyOptions options = Dynamic(4, absl::Seconds(1));
  const std::deque<QueuedItem> too_many_rows = {Item(3), Item(3)};
  EXPECT_EQ(DecideBatch(too_many_rows, kT0, options, true).count, 1u);
  const std::deque<QueuedItem> two_shapes = {Item(1, 1), Item(1, 1),
                                             Item(1, 2)};
  EXPECT_EQ(DecideBatch(two_shapes, kT0, options, true).count, 2u);
}

TEST(DecideBatchTest, ZeroMaxQueueDelaySendsAtOnce) {
  const std::deque<QueuedItem> queue = {Item(1), Item(2)};
  const BatchDecision decision =
      DecideBatch(queue, kT0, Dynamic(8, absl::ZeroDuration()), false);
  EXPECT_EQ(decision.count, 2u);
}

TEST(DecideBatchTest, ZeroMaxQueueDelayOverridesUnreachedPreferredSize) {
  const std::deque<QueuedItem> queue = {Item(1)};
  const BatchDecision decision =
      DecideBatch(queue, kT0, Dynamic(8, absl::ZeroDuration(), {4}), false);
  EXPECT_EQ(decision.count, 1u);
}

TEST(DecideBatchTest, CountsRowsOfMultiRowRequestsNotRequests) {
  const BatchPolicyOptions options = Dynamic(8, absl::Seconds(1));
  // Three requests of 2 rows: 6 rows, room for 2 more, so wait.
  std::deque<QueuedItem> queue = {Item(2), Item(2), Item(2)};
  const BatchDecision short_of_max = DecideBatch(queue, kT0, options, false);
  EXPECT_EQ(short_of_max.count, 0u);
  EXPECT_EQ(short_of_max.wake_at, kT0 + absl::Seconds(1));
  // A fourth makes 8 rows: full.
  queue.push_back(Item(2));
  EXPECT_EQ(DecideBatch(queue, kT0, options, false).count, 4u);
}

TEST(DecideBatchTest, HeadLargerThanMaxBatchSizeIsSentAlone) {
  // Submit refuses such requests; should one reach the policy it must not
  // block the queue.
  const std::deque<QueuedItem> queue = {Item(10), Item(1)};
  const BatchDecision decision =
      DecideBatch(queue, kT0, Dynamic(8, absl::Seconds(1)), false);
  EXPECT_EQ(decision.count, 1u);
}

// --- ValidateBatchPolicyOptions ---------------------------------------------

TEST(ValidateBatchPolicyOptionsTest, AcceptsDefaults) {
  EXPECT_TRUE(ValidateBatchPolicyOptions(BatchPolicyOptions{}).ok());
}

TEST(ValidateBatchPolicyOptionsTest, AcceptsAscendingPreferredSizesUpToMax) {
  EXPECT_TRUE(
      ValidateBatchPolicyOptions(Dynamic(8, absl::Milliseconds(5), {1, 4, 8}))
          .ok());
}

TEST(ValidateBatchPolicyOptionsTest, RejectsMaxBatchSizeBelowOne) {
  for (int64_t bad : {0, -1}) {
    BatchPolicyOptions options;
    options.max_batch_size = bad;
    const absl::Status status = ValidateBatchPolicyOptions(options);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(status.message(), HasSubstr("max_batch_size")) << bad;
  }
}

TEST(ValidateBatchPolicyOptionsTest, RejectsPreferredSizeAboveMaxBatchSize) {
  const absl::Status status =
      ValidateBatchPolicyOptions(Dynamic(8, absl::ZeroDuration(), {4, 16}));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("preferred_batch_size"));
  EXPECT_THAT(status.message(), HasSubstr("16"));
}

TEST(ValidateBatchPolicyOptionsTest, RejectsPreferredSizeBelowOne) {
  const absl::Status status =
      ValidateBatchPolicyOptions(Dynamic(8, absl::ZeroDuration(), {0, 4}));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("preferred_batch_size"));
}

TEST(ValidateBatchPolicyOptionsTest, RejectsDescendingPreferredSizes) {
  const absl::Status status =
      ValidateBatchPolicyOptions(Dynamic(8, absl::ZeroDuration(), {4, 2}));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("preferred_batch_size"));
  EXPECT_THAT(status.message(), HasSubstr("ascending"));
}

TEST(ValidateBatchPolicyOptionsTest, RejectsRepeatedPreferredSize) {
  const absl::Status status =
      ValidateBatchPolicyOptions(Dynamic(8, absl::ZeroDuration(), {2, 2}));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("ascending"));
}

TEST(ValidateBatchPolicyOptionsTest, RejectsNegativeMaxQueueDelay) {
  const absl::Status status =
      ValidateBatchPolicyOptions(Dynamic(8, -absl::Microseconds(1)));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("max_queue_delay"));
}

}  // namespace
}  // namespace inferd::batching
