#include "batching/load_estimator.h"

#include <algorithm>

namespace inferd::batching {

void LoadEstimator::OnArrival(absl::Time at, int64_t rows) {
  const double alpha = options_.arrival_smoothing;
  if (arrivals_ > 0) {
    const double gap = std::max(0.0, absl::ToDoubleSeconds(at - last_arrival_));
    mean_gap_ = arrivals_ == 1 ? gap : (1 - alpha) * mean_gap_ + alpha * gap;
  }
  mean_rows_ = arrivals_ == 0 ? static_cast<double>(rows)
                              : (1 - alpha) * mean_rows_ +
                                    alpha * static_cast<double>(rows);
  last_arrival_ = std::max(last_arrival_, at);
  ++arrivals_;
}

void LoadEstimator::OnBatchDone(int64_t rows, absl::Duration cost) {
  const double keep = options_.cost_memory;
  const double x = static_cast<double>(rows);
  const double y = absl::ToDoubleSeconds(cost);
  w_ = keep * w_ + 1;
  wx_ = keep * wx_ + x;
  wy_ = keep * wy_ + y;
  wxx_ = keep * wxx_ + x * x;
  wxy_ = keep * wxy_ + x * y;
  ++batches_;
}

LoadEstimate LoadEstimator::Estimate(absl::Time now) const {
  LoadEstimate estimate;
  if (arrivals_ < 2 || batches_ < options_.min_batches) return estimate;
  // A silence longer than the usual gap says the rate has dropped.
  const double silence = absl::ToDoubleSeconds(now - last_arrival_);
  const double gap = std::max(mean_gap_, silence);
  if (gap <= 0) return estimate;
  estimate.arrivals_per_second = 1 / gap;
  estimate.rows_per_request = std::max(1.0, mean_rows_);
  // cost = batch_cost + rows * row_cost, weighted least squares. With too
  // little spread in batch sizes the slope is unknown: count it all as the
  // fixed cost (which only makes waiting look more attractive at high load,
  // and changes nothing at low load).
  const double mean_x = wx_ / w_;
  const double mean_y = wy_ / w_;
  const double var_x = wxx_ / w_ - mean_x * mean_x;
  double slope = 0;
  if (var_x > 1e-9) slope = (wxy_ / w_ - mean_x * mean_y) / var_x;
  slope = std::max(0.0, slope);
  double fixed = mean_y - slope * mean_x;
  if (fixed < 0) {
    fixed = 0;
    slope = mean_y / std::max(1.0, mean_x);
  }
  estimate.batch_cost = fixed;
  estimate.row_cost = slope;
  estimate.known = true;
  return estimate;
}

CpuSampler::CpuSampler(int cpus, absl::Duration slice)
    : cpus_(std::max(cpus, 1)), slice_(slice) {}

void CpuSampler::Restart(absl::Time now, absl::Duration used) {
  since_ = batch_end_ = now;
  used_since_ = used_at_batch_end_ = used;
  busy_ = -1;
}

CpuLoad CpuSampler::Sample(absl::Time now, absl::Duration used) {
  if (since_ == absl::InfinitePast()) Restart(now, used);  // the first reading
  const auto fraction = [&](absl::Time from, absl::Duration used_then) {
    return std::clamp(
        absl::FDivDuration(used - used_then, (now - from) * cpus_), 0.0, 1.0);
  };
  const absl::Duration elapsed = now - since_;
  CpuLoad load;
  load.measured = true;
  if (elapsed >= slice_ / kShortestReading) {
    busy_ = fraction(since_, used_since_);
    if (elapsed >= slice_) {
      since_ = now;
      used_since_ = used;
    }
  }
  load.busy = busy_;
  if (busy_ >= 0)
    load.busy_since_batch = fraction(batch_end_, used_at_batch_end_);
  load.next_sample =
      busy_ < 0 ? since_ + slice_ / kShortestReading : since_ + slice_;
  return load;
}

}  // namespace inferd::batching
