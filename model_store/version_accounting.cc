#include "model_store/version_accounting.h"

namespace inferd {

void VersionAccounting::OnQueueDepth(size_t depth) {
  if (metrics_ != nullptr) metrics_->SetQueueDepth(depth);
}

void VersionAccounting::OnDequeued(absl::Duration queued) {
  {
    absl::MutexLock lock(&mu_);
    ++stats_.queue_count;
    stats_.queue_ns += absl::ToInt64Nanoseconds(queued);
  }
  if (metrics_ != nullptr) metrics_->ObserveQueue(queued);
}

void VersionAccounting::OnBatchDone(int64_t requests, int64_t rows,
                                    absl::Duration input,
                                    absl::Duration compute, bool ok,
                                    absl::Time end) {
  {
    absl::MutexLock lock(&mu_);
    stats_.compute_count += requests;
    stats_.compute_input_ns += requests * absl::ToInt64Nanoseconds(input);
    stats_.compute_ns += requests * absl::ToInt64Nanoseconds(compute);
    ++stats_.execution_count;
    if (ok) stats_.inference_count += rows;
    stats_.last_inference_ms = absl::ToUnixMillis(end);
  }
  if (metrics_ != nullptr) metrics_->ObserveBatch(rows, compute);
}

void VersionAccounting::OnOutput(absl::Duration output) {
  absl::MutexLock lock(&mu_);
  ++stats_.compute_output_count;
  stats_.compute_output_ns += absl::ToInt64Nanoseconds(output);
}

void VersionAccounting::OnAnswered(Protocol protocol, absl::StatusCode code,
                                   absl::Duration total) {
  {
    absl::MutexLock lock(&mu_);
    const uint64_t ns = absl::ToInt64Nanoseconds(total);
    if (code == absl::StatusCode::kOk) {
      ++stats_.success_count;
      stats_.success_ns += ns;
    } else {
      ++stats_.fail_count;
      stats_.fail_ns += ns;
    }
  }
  if (metrics_ != nullptr) metrics_->CountRequest(protocol, code, total);
}

ServableStatistics VersionAccounting::statistics() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

}  // namespace inferd
