#include "service/stream_infer.h"

#include <utility>

#include "absl/time/clock.h"
#include "service/status_util.h"

namespace inferd {

StreamInferReactor::StreamInferReactor(absl::Time deadline,
                                       SubmitInferFn submit, size_t max_pending)
    : deadline_(deadline), submit_(std::move(submit)), window_(max_pending) {
  absl::MutexLock lock(&mu_);
  ProceedLocked();
}

void StreamInferReactor::OnReadDone(bool ok) {
  if (!ok) {
    absl::MutexLock lock(&mu_);
    window_.ReadsEnded();
    ProceedLocked();
    return;
  }
  const absl::Time start = absl::Now();
  uint64_t sequence = 0;
  const inference::ModelInferRequest* request = nullptr;
  {
    absl::MutexLock lock(&mu_);
    sequence = window_.Accept(std::move(incoming_));
    request = &window_.request(sequence);
    ++refs_;
  }
  // Without the lock: the answer may come on this thread, before submit_
  // returns. The window keeps *request until that answer; a request read
  // after the stream finished still goes through (marked cancelled), so
  // that it is accounted like every other.
  submit_(*request, start, deadline_, &cancelled_,
          [this, sequence](absl::StatusOr<InferResponse> result) {
            Answer(sequence, std::move(result));
          });
  absl::MutexLock lock(&mu_);
  window_.Dispatched();
  ProceedLocked();
}

void StreamInferReactor::OnWriteDone(bool ok) {
  if (!ok) cancelled_.store(true, std::memory_order_relaxed);
  absl::MutexLock lock(&mu_);
  window_.WriteDone(ok);
  ProceedLocked();
}

void StreamInferReactor::OnCancel() {
  cancelled_.store(true, std::memory_order_relaxed);
  absl::MutexLock lock(&mu_);
  window_.Cancel();
  ProceedLocked();
}

void StreamInferReactor::OnDone() { Unref(); }

void StreamInferReactor::Answer(uint64_t sequence,
                                absl::StatusOr<InferResponse> result) {
  {
    absl::MutexLock lock(&mu_);
    window_.Answer(sequence, std::move(result));
    ProceedLocked();
  }
  Unref();
}

void StreamInferReactor::ProceedLocked() {
  StreamWindow::Actions actions = window_.Next();
  if (actions.write != nullptr) StartWrite(actions.write);
  if (actions.read) {
    incoming_ = std::make_unique<inference::ModelInferRequest>();
    StartRead(incoming_.get());
  }
  if (actions.finish.has_value()) Finish(ToGrpcStatus(*actions.finish));
}

void StreamInferReactor::Unref() {
  bool last = false;
  {
    absl::MutexLock lock(&mu_);
    last = --refs_ == 0;
  }
  if (last) delete this;
}

}  // namespace inferd
