#include "batching/load_estimator.h"

#include <gtest/gtest.h>

namespace inferd::batching {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1000);

TEST(LoadEstimatorTest, UnknownUntilArrivalsAndBatchesWereSeen) {
  LoadEstimator load;
  EXPECT_FALSE(load.Estimate(kStart).known);
  load.OnArrival(kStart, 1);
  load.OnArrival(kStart + absl::Milliseconds(1), 1);
  EXPECT_FALSE(load.Estimate(kStart).known);  // no batch measured yet
  for (int i = 0; i < 3; ++i) load.OnBatchDone(1, absl::Microseconds(200));
  EXPECT_TRUE(load.Estimate(kStart + absl::Milliseconds(1)).known);
}

TEST(LoadEstimatorTest, ArrivalRateFollowsTheGaps) {
  LoadEstimator load;
  absl::Time t = kStart;
  for (int i = 0; i < 50; ++i) {
    load.OnArrival(t, 2);
    t += absl::Microseconds(500);  // 2000 requests/s
  }
  for (int i = 0; i < 3; ++i) load.OnBatchDone(2, absl::Microseconds(200));
  const LoadEstimate at_last = load.Estimate(t - absl::Microseconds(500));
  EXPECT_NEAR(at_last.arrivals_per_second, 2000, 1);
  EXPECT_NEAR(at_last.rows_per_request, 2, 1e-9);
  // A silence longer than the usual gap lowers it.
  EXPECT_NEAR(load.Estimate(t + absl::Milliseconds(100)).arrivals_per_second,
              1 / 0.1005, 0.01);
}

TEST(LoadEstimatorTest, RecoversFixedAndPerRowCostFromBatches) {
  LoadEstimator load;
  load.OnArrival(kStart, 1);
  load.OnArrival(kStart + absl::Milliseconds(1), 1);
  // cost = 300 us + 20 us per row
  for (int rows : {1, 8, 32, 4, 64, 16, 2}) {
    load.OnBatchDone(rows, absl::Microseconds(300 + 20 * rows));
  }
  const LoadEstimate estimate = load.Estimate(kStart + absl::Milliseconds(1));
  ASSERT_TRUE(estimate.known);
  EXPECT_NEAR(estimate.batch_cost, 300e-6, 1e-9);
  EXPECT_NEAR(estimate.row_cost, 20e-6, 1e-10);
}

TEST(LoadEstimatorTest, OneBatchSizeOnlyCountsAsFixedCost) {
  LoadEstimator load;
  load.OnArrival(kStart, 1);
  load.OnArrival(kStart + absl::Milliseconds(1), 1);
  for (int i = 0; i < 5; ++i) load.OnBatchDone(1, absl::Microseconds(250));
  const LoadEstimate estimate = load.Estimate(kStart + absl::Milliseconds(1));
  EXPECT_NEAR(estimate.batch_cost, 250e-6, 1e-9);
  EXPECT_EQ(estimate.row_cost, 0);
}

TEST(LoadEstimatorTest, NewerBatchesWeighMore) {
  LoadEstimator load;
  load.OnArrival(kStart, 1);
  load.OnArrival(kStart + absl::Milliseconds(1), 1);
  for (int i = 0; i < 20; ++i) {
    load.OnBatchDone(1 + i % 4, absl::Microseconds(1000));
  }
  for (int i = 0; i < 100; ++i) {
    load.OnBatchDone(1 + i % 4, absl::Microseconds(100));
  }
  EXPECT_NEAR(load.Estimate(kStart + absl::Milliseconds(1)).batch_cost, 100e-6,
              5e-6);
}

}  // namespace
}  // namespace inferd::batching
