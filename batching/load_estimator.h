#ifndef INFERD_BATCHING_LOAD_ESTIMATOR_H_
#define INFERD_BATCHING_LOAD_ESTIMATOR_H_

#include <cstdint>

#include "absl/time/time.h"

namespace inferd::batching {

// How busy the process keeps the CPUs it may use, measured in slices that
// start when one of the queue's batches ends (so the batch itself is not
// counted): what the adaptive delay reads to tell whether a worker that
// waits leaves a CPU idle or leaves it to the threads that receive requests.
struct CpuLoad {
  // Whether the process's CPU time is measured at all; if not, the
  // adaptive delay does not ask.
  bool measured = false;
  // The busy fraction of the usable CPUs recently (CpuSampler), in [0, 1];
  // negative while nothing was measured since the last batch ended.
  double busy = -1;
  // The same since the last batch ended (with busy, else negative).
  double busy_since_batch = -1;
  // When a new reading is due.
  absl::Time next_sample = absl::InfiniteFuture();
};

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
  // The process's CPU use, measured apart from the rest (see CpuSampler).
  CpuLoad cpu;
};

// Turns readings of the process's CPU time into CpuLoad: the busy fraction
// of `cpus` CPUs over the slice measured now, which starts when a batch
// ends and again every `slice` (a reading within the first fifth of a slice
// gives the last slice's fraction; none right after a batch), and over all
// the time since the batch ended. Not thread-safe: its owner (the
// scheduler) serialises calls.
class CpuSampler {
 public:
  CpuSampler(int cpus, absl::Duration slice);

  // A batch ended at `now`, when the process had used `used` CPU time: a
  // new slice starts (what was measured before the batch says nothing
  // about what its worker would now take the CPU from).
  void Restart(absl::Time now, absl::Duration used);

  // The load at `now` with `used` CPU time.
  CpuLoad Sample(absl::Time now, absl::Duration used);

 private:
  static constexpr int kShortestReading = 5;  // slice / 5

  const int cpus_;
  const absl::Duration slice_;
  absl::Time batch_end_ = absl::InfinitePast();
  absl::Duration used_at_batch_end_;
  absl::Time since_ = absl::InfinitePast();  // the slice's start
  absl::Duration used_since_;
  double busy_ = -1;
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
