#ifndef INFERD_BATCHING_LOAD_ESTIMATOR_H_
#define INFERD_BATCHING_LOAD_ESTIMATOR_H_

#include <cstdint>

#include "absl/time/time.h"

namespace inferd::batching {

// What the adaptive batching decision knows about a queue's load: how fast
// requests arrive and what a batch costs. All zero until measured.
struct LoadEstimate {
  // Whether enough has been measured to decide on (else: do not wait).
  bool known = false;
  // Requests arriving per second, recently.
  double arrivals_per_second = 0;
  // Rows per request, on average.
  double rows_per_request = 1;
  // A batch of n rows costs batch_cost + n * row_cost seconds.
  double batch_cost = 0;
  double row_cost = 0;
};

// Learns a queue's LoadEstimate online from the arrivals and the batches it
// sees: arrival rate from an exponentially weighted mean of the gaps
// between arrivals (and the silence since the last one), batch cost from a
// least-squares fit of cost against rows with exponential forgetting. Not
// thread-safe: its owner (the scheduler) serialises calls.
class LoadEstimator {
 public:
  struct Options {
    // Weight of the newest gap in the mean gap, in (0, 1].
    double arrival_smoothing = 0.2;
    // Weight each cost sample keeps per newer sample, in (0, 1).
    double cost_memory = 0.95;
    // Batches measured before the estimate is `known`.
    int min_batches = 3;
  };

  LoadEstimator() : LoadEstimator(Options()) {}
  explicit LoadEstimator(Options options) : options_(options) {}

  // A request of `rows` rows arrived at `at`.
  void OnArrival(absl::Time at, int64_t rows);
  // A batch of `rows` rows took `cost` to execute.
  void OnBatchDone(int64_t rows, absl::Duration cost);

  // The estimate at `now` (a long silence lowers the arrival rate).
  LoadEstimate Estimate(absl::Time now) const;

 private:
  const Options options_;
  // Arrivals.
  int64_t arrivals_ = 0;
  absl::Time last_arrival_ = absl::InfinitePast();
  double mean_gap_ = 0;   // seconds
  double mean_rows_ = 1;  // rows per request
  // Exponentially weighted sums over (rows x, seconds y) of batches.
  int batches_ = 0;
  double w_ = 0, wx_ = 0, wy_ = 0, wxx_ = 0, wxy_ = 0;
};

}  // namespace inferd::batching

#endif  // INFERD_BATCHING_LOAD_ESTIMATOR_H_
