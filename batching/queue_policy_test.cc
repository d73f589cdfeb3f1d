#include "batching/queue_policy.h"

#include <cstdint>
#include <deque>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace inferd::batching {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const absl::Time kT0 = absl::FromUnixSeconds(1000);

// Three levels, default 2; level 3 holds at most 4 requests, delays expired
// ones, and lets requests shorten its 10 ms timeout; level 1 rejects after
// 5 ms.
QueueOptions ThreeLevels() {
  QueueOptions options;
  options.priority_levels = 3;
  options.default_priority_level = 2;
  QueuePolicy& first = options.level_policies[1];
  first.timeout = absl::Milliseconds(5);
  QueuePolicy& third = options.level_policies[3];
  third.max_queue_size = 4;
  third.timeout = absl::Milliseconds(10);
  third.allow_timeout_override = true;
  third.timeout_action = TimeoutAction::kDelay;
  return options;
}

// Nothing waiting at any of the levels 0..3.
const std::vector<size_t> kEmpty(4, 0);

absl::StatusOr<Placement> Place(const QueueOptions& options, uint64_t priority,
                                absl::Duration timeout = absl::ZeroDuration(),
                                const std::vector<size_t>& waiting = kEmpty) {
  return PlaceRequest(options, priority, timeout, kT0, waiting);
}

// --- Levels -----------------------------------------------------------------

TEST(PlaceRequestTest, PriorityZeroGoesToTheDefaultLevel) {
  absl::StatusOr<Placement> placed = Place(ThreeLevels(), 0);
  ASSERT_TRUE(placed.ok()) << placed.status();
  EXPECT_EQ(placed->level, 2);
}

TEST(PlaceRequestTest, PriorityNamesItsLevel) {
  for (uint64_t priority : {1, 2, 3}) {
    absl::StatusOr<Placement> placed = Place(ThreeLevels(), priority);
    ASSERT_TRUE(placed.ok()) << placed.status();
    EXPECT_EQ(placed->level, static_cast<int>(priority));
  }
}

TEST(PlaceRequestTest, PriorityOutsideTheLevelsIsRefusedNamingValueAndRange) {
  for (uint64_t priority : {uint64_t{4}, uint64_t{9}, ~uint64_t{0}}) {
    absl::StatusOr<Placement> placed = Place(ThreeLevels(), priority);
    ASSERT_FALSE(placed.ok()) << priority;
    EXPECT_EQ(placed.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(placed.status().message(),
                AllOf(HasSubstr(absl::StrCat("priority ", priority,
                                             " is outside the priority "
                                             "levels 1..3")),
                      HasSubstr("default level 2")));
  }
}

TEST(PlaceRequestTest, WithoutLevelsOnlyPriorityZeroIsAccepted) {
  QueueOptions options;
  absl::StatusOr<Placement> placed = Place(options, 0);
  ASSERT_TRUE(placed.ok()) << placed.status();
  EXPECT_EQ(placed->level, 0);
  placed = Place(options, 1);
  ASSERT_FALSE(placed.ok());
  EXPECT_EQ(placed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(placed.status().message(),
              HasSubstr("priority 1 cannot be honoured: there are no "
                        "priority levels"));
}

// --- Queue caps -------------------------------------------------------------

TEST(PlaceRequestTest, FullLevelIsRefusedWhileOtherLevelsStillTakeRequests) {
  const QueueOptions options = ThreeLevels();
  EXPECT_TRUE(Place(options, 3, absl::ZeroDuration(), {0, 0, 0, 3}).ok());
  absl::StatusOr<Placement> placed =
      Place(options, 3, absl::ZeroDuration(), {0, 0, 0, 4});
  ASSERT_FALSE(placed.ok());
  EXPECT_EQ(placed.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(placed.status().message(),
              HasSubstr("priority level 3: queue is full (4 requests "
                        "waiting)"));
  // Levels 1 and 2 have no cap of their own (the default policy has none).
  EXPECT_TRUE(Place(options, 1, absl::ZeroDuration(), {0, 100, 100, 4}).ok());
  EXPECT_TRUE(Place(options, 0, absl::ZeroDuration(), {0, 100, 100, 4}).ok());
}

TEST(PlaceRequestTest, LevelsWithoutAPolicyOfTheirOwnUseTheDefaultCap) {
  QueueOptions options = ThreeLevels();
  options.default_policy.max_queue_size = 2;
  EXPECT_FALSE(Place(options, 2, absl::ZeroDuration(), {0, 0, 2, 0}).ok());
  EXPECT_TRUE(Place(options, 2, absl::ZeroDuration(), {0, 0, 1, 0}).ok());
  // Level 1 has a policy of its own, without a cap.
  EXPECT_TRUE(Place(options, 1, absl::ZeroDuration(), {0, 50, 0, 0}).ok());
}

TEST(PlaceRequestTest, WithoutLevelsTheDefaultPolicyCapsTheQueue) {
  QueueOptions options;
  options.default_policy.max_queue_size = 2;
  EXPECT_TRUE(Place(options, 0, absl::ZeroDuration(), {1}).ok());
  absl::StatusOr<Placement> placed =
      Place(options, 0, absl::ZeroDuration(), {2});
  ASSERT_FALSE(placed.ok());
  EXPECT_EQ(placed.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(placed.status().message(), "queue is full (2 requests waiting)");
}

// --- Timeouts ---------------------------------------------------------------

TEST(PlaceRequestTest, LevelTimeoutSetsWhenTheRequestExpires) {
  absl::StatusOr<Placement> placed = Place(ThreeLevels(), 1);
  ASSERT_TRUE(placed.ok());
  EXPECT_EQ(placed->expires, kT0 + absl::Milliseconds(5));
  EXPECT_EQ(placed->timeout_action, TimeoutAction::kReject);
}

TEST(PlaceRequestTest, LevelWithoutTimeoutNeverExpires) {
  absl::StatusOr<Placement> placed = Place(ThreeLevels(), 2);
  ASSERT_TRUE(placed.ok());
  EXPECT_EQ(placed->expires, absl::InfiniteFuture());
}

TEST(PlaceRequestTest, RequestTimeoutIsIgnoredWithoutOverride) {
  // Level 1 does not allow an override: neither shorter nor longer counts.
  absl::StatusOr<Placement> placed =
      Place(ThreeLevels(), 1, absl::Milliseconds(1));
  ASSERT_TRUE(placed.ok());
  EXPECT_EQ(placed->expires, kT0 + absl::Milliseconds(5));
  // Level 2 (the default policy) has no timeout and allows none.
  placed = Place(ThreeLevels(), 2, absl::Milliseconds(1));
  ASSERT_TRUE(placed.ok());
  EXPECT_EQ(placed->expires, absl::InfiniteFuture());
}

TEST(PlaceRequestTest, ShorterRequestTimeoutOverridesWhereAllowed) {
  absl::StatusOr<Placement> placed =
      Place(ThreeLevels(), 3, absl::Milliseconds(2));
  ASSERT_TRUE(placed.ok());
  EXPECT_EQ(placed->expires, kT0 + absl::Milliseconds(2));
  EXPECT_EQ(placed->timeout_action, TimeoutAction::kDelay);
}

TEST(PlaceRequestTest, LongerRequestTimeoutDoesNotExtendTheLevels) {
  absl::StatusOr<Placement> placed =
      Place(ThreeLevels(), 3, absl::Milliseconds(50));
  ASSERT_TRUE(placed.ok());
  EXPECT_EQ(placed->expires, kT0 + absl::Milliseconds(10));
}

TEST(PlaceRequestTest, RequestTimeoutAppliesWhereTheLevelHasNoneButAllowsIt) {
  QueueOptions options;
  options.default_policy.allow_timeout_override = true;
  absl::StatusOr<Placement> placed =
      Place(options, 0, absl::Milliseconds(3), {0});
  ASSERT_TRUE(placed.ok());
  EXPECT_EQ(placed->expires, kT0 + absl::Milliseconds(3));
}

// --- Order ------------------------------------------------------------------

// An item of `level`; `id` is kept in shape_key so that tests can read the
// order back.
QueuedItem Item(int id, int level, bool delayed = false) {
  QueuedItem item;
  item.shape_key = static_cast<uint64_t>(id);
  item.level = level;
  item.delayed = delayed;
  return item;
}

void Insert(std::deque<QueuedItem>* queue, const QueuedItem& item) {
  queue->insert(
      queue->begin() + InsertionIndex(*queue, item.level, item.delayed), item);
}

std::vector<int> Ids(const std::deque<QueuedItem>& queue) {
  std::vector<int> ids;
  for (const QueuedItem& item : queue) {
    ids.push_back(static_cast<int>(item.shape_key));
  }
  return ids;
}

TEST(InsertionIndexTest, HigherLevelsGoFirstAndEachLevelIsFifo) {
  std::deque<QueuedItem> queue;
  const int levels[] = {3, 3, 2, 1, 3, 1, 2, 2};
  for (int id = 0; id < 8; ++id) Insert(&queue, Item(id, levels[id]));
  EXPECT_THAT(Ids(queue), ElementsAre(3, 5, 2, 6, 7, 0, 1, 4));
}

TEST(InsertionIndexTest, WithoutLevelsEveryRequestGoesLast) {
  std::deque<QueuedItem> queue;
  for (int id = 0; id < 5; ++id) {
    EXPECT_EQ(InsertionIndex(queue, 0, false), queue.size());
    Insert(&queue, Item(id, 0));
  }
  EXPECT_THAT(Ids(queue), ElementsAre(0, 1, 2, 3, 4));
}

TEST(InsertionIndexTest, DelayedGoesBehindItsLevelAndHigherAheadOfLower) {
  std::deque<QueuedItem> queue;
  for (const QueuedItem& item :
       {Item(0, 1), Item(1, 1), Item(2, 2), Item(3, 2), Item(4, 3)}) {
    Insert(&queue, item);
  }
  Insert(&queue, Item(5, 2, /*delayed=*/true));
  EXPECT_THAT(Ids(queue), ElementsAre(0, 1, 2, 3, 5, 4));
  Insert(&queue, Item(6, 1, /*delayed=*/true));
  EXPECT_THAT(Ids(queue), ElementsAre(0, 1, 6, 2, 3, 5, 4));
  // Delayed ones keep the order in which they were delayed.
  Insert(&queue, Item(7, 2, /*delayed=*/true));
  EXPECT_THAT(Ids(queue), ElementsAre(0, 1, 6, 2, 3, 5, 7, 4));
  // A request that arrives later still goes ahead of its level's delayed.
  Insert(&queue, Item(8, 2));
  EXPECT_THAT(Ids(queue), ElementsAre(0, 1, 6, 2, 3, 8, 5, 7, 4));
}

TEST(InsertionIndexTest, WithoutLevelsDelayedGoBehindEveryUnexpiredRequest) {
  std::deque<QueuedItem> queue;
  Insert(&queue, Item(0, 0));
  Insert(&queue, Item(1, 0, /*delayed=*/true));
  Insert(&queue, Item(2, 0));
  EXPECT_THAT(Ids(queue), ElementsAre(0, 2, 1));
}

// --- Expiry -----------------------------------------------------------------

TEST(CheckExpiryTest, NothingHappensBeforeTheTimeout) {
  QueuedItem item = Item(0, 1);
  item.expires = kT0 + absl::Milliseconds(5);
  EXPECT_EQ(CheckExpiry(item, kT0 + absl::Microseconds(4999)), Expiry::kNone);
  item.expires = absl::InfiniteFuture();
  EXPECT_EQ(CheckExpiry(item, kT0 + absl::Hours(1000)), Expiry::kNone);
}

TEST(CheckExpiryTest, RejectAtTheTimeout) {
  QueuedItem item = Item(0, 1);
  item.expires = kT0 + absl::Milliseconds(5);
  EXPECT_EQ(CheckExpiry(item, kT0 + absl::Milliseconds(5)), Expiry::kReject);
}

TEST(CheckExpiryTest, DelayAtTheTimeoutThenNeverAgain) {
  QueuedItem item = Item(0, 3);
  item.expires = kT0 + absl::Milliseconds(5);
  item.delay_when_expired = true;
  EXPECT_EQ(CheckExpiry(item, kT0 + absl::Milliseconds(6)), Expiry::kDelay);
  item.delayed = true;
  EXPECT_EQ(CheckExpiry(item, kT0 + absl::Hours(1)), Expiry::kNone);
}

// --- Options ----------------------------------------------------------------

void ExpectInvalid(const QueueOptions& options, const std::string& message) {
  const absl::Status status = ValidateQueueOptions(options);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(status.message(), HasSubstr(message));
}

TEST(ValidateQueueOptionsTest, AcceptsLevelsAndNoLevels) {
  EXPECT_TRUE(ValidateQueueOptions(QueueOptions()).ok());
  EXPECT_TRUE(ValidateQueueOptions(ThreeLevels()).ok());
}

TEST(ValidateQueueOptionsTest, LevelsAreBounded) {
  QueueOptions options;
  options.priority_levels = kMaxPriorityLevels;
  options.default_priority_level = 1;
  EXPECT_TRUE(ValidateQueueOptions(options).ok());
  options.priority_levels = kMaxPriorityLevels + 1;
  ExpectInvalid(options, "priority_levels: expected 0 to 1024, got 1025");
  options.priority_levels = -1;
  ExpectInvalid(options, "priority_levels: expected 0 to 1024, got -1");
}

TEST(ValidateQueueOptionsTest, DefaultLevelMustBeALevel) {
  QueueOptions options = ThreeLevels();
  options.default_priority_level = 0;
  ExpectInvalid(options, "default_priority_level: expected 1..3");
  options.default_priority_level = 4;
  ExpectInvalid(options, "default_priority_level: expected 1..3");
  QueueOptions none;
  none.default_priority_level = 1;
  ExpectInvalid(none, "default_priority_level: expected 0 without priority");
}

TEST(ValidateQueueOptionsTest, LevelPoliciesMustNameLevels) {
  QueueOptions options = ThreeLevels();
  options.level_policies[4];
  ExpectInvalid(options,
                "queue policy for priority level 4: expected levels "
                "1..3");
  QueueOptions none;
  none.level_policies[1];
  ExpectInvalid(none,
                "queue policy for priority level 1: expected levels "
                "none");
}

TEST(ValidateQueueOptionsTest, TimeoutsMustNotBeNegative) {
  QueueOptions options = ThreeLevels();
  options.level_policies[3].timeout = -absl::Milliseconds(1);
  ExpectInvalid(options, "priority level 3 queue timeout: expected >= 0");
  options = QueueOptions();
  options.default_policy.timeout = -absl::Milliseconds(1);
  ExpectInvalid(options, "default queue policy timeout: expected >= 0");
}

TEST(QueueCapacityTest, WithoutLevelsIsTheDefaultPolicysBound) {
  QueueOptions options;
  options.default_policy.max_queue_size = 7;
  EXPECT_EQ(QueueCapacity(options), 7u);
}

TEST(QueueCapacityTest, SumsTheLevels) {
  QueueOptions options = ThreeLevels();
  options.priority_levels = 4;
  options.default_policy.max_queue_size = 2;     // levels 2 and 4
  options.level_policies[1].max_queue_size = 1;  // level 3 has 4
  EXPECT_EQ(QueueCapacity(options), 1u + 2u + 4u + 2u);
}

TEST(QueueCapacityTest, UnboundedWhenALevelOfItsOwnPolicyIs) {
  QueueOptions options = ThreeLevels();  // level 1 unbounded
  options.default_policy.max_queue_size = 2;
  EXPECT_EQ(QueueCapacity(options), 0u);
}

TEST(QueueCapacityTest, UnboundedWhenALevelOfTheDefaultPolicyIs) {
  QueueOptions options = ThreeLevels();  // level 2: the default, unbounded
  options.level_policies[1].max_queue_size = 1;
  EXPECT_EQ(QueueCapacity(options), 0u);
}

}  // namespace
}  // namespace inferd::batching
