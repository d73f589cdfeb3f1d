#include "service/stream_window.h"

#include <string>
#include <utility>

#include "absl/base/macros.h"
#include "service/tensor_codec.h"

namespace inferd {

inference::ModelStreamInferResponse StreamAnswer(
    const inference::ModelInferRequest& request,
    absl::StatusOr<InferResponse> result) {
  inference::ModelStreamInferResponse answer;
  if (result.ok()) {
    EncodeInferResponse(*std::move(result), answer.mutable_infer_response());
    return answer;
  }
  // An empty error_message would read as success.
  const absl::Status& status = result.status();
  answer.set_error_message(status.message().empty()
                               ? absl::StatusCodeToString(status.code())
                               : std::string(status.message()));
  inference::ModelInferResponse* echo = answer.mutable_infer_response();
  echo->set_id(request.id());
  echo->set_model_name(request.model_name());
  echo->set_model_version(request.model_version());
  return answer;
}

StreamWindow::StreamWindow(size_t max_pending) : max_pending_(max_pending) {}

StreamWindow::Entry& StreamWindow::At(uint64_t sequence) {
  ABSL_ASSERT(sequence >= first_ && sequence - first_ < pending_.size());
  return pending_[sequence - first_];
}

uint64_t StreamWindow::Accept(
    std::unique_ptr<inference::ModelInferRequest> request) {
  ABSL_ASSERT(reading_);
  pending_.emplace_back().request = std::move(request);
  return first_ + pending_.size() - 1;
}

const inference::ModelInferRequest& StreamWindow::request(
    uint64_t sequence) const {
  return *pending_[sequence - first_].request;
}

void StreamWindow::Dispatched() { reading_ = false; }

void StreamWindow::ReadsEnded() {
  ABSL_ASSERT(reading_);
  reading_ = false;
  reads_ended_ = true;
}

void StreamWindow::Answer(uint64_t sequence,
                          absl::StatusOr<InferResponse> result) {
  Entry& entry = At(sequence);
  if (!finished_ && !cancelled_) {
    entry.response = StreamAnswer(*entry.request, std::move(result));
  }
  entry.request.reset();
  entry.answered = true;
}

void StreamWindow::WriteDone(bool ok) {
  ABSL_ASSERT(writing_ && !pending_.empty());
  writing_ = false;
  pending_.pop_front();
  ++first_;
  if (!ok) cancelled_ = true;
}

void StreamWindow::Cancel() { cancelled_ = true; }

StreamWindow::Actions StreamWindow::Next() {
  Actions actions;
  if (finished_) return actions;
  if (cancelled_) {
    // gRPC completes an outstanding write at once on a cancelled call;
    // finishing waits for it so that no write is started or pending after
    // Finish.
    if (!writing_) {
      finished_ = true;
      actions.finish = absl::CancelledError("stream cancelled");
    }
    return actions;
  }
  if (!writing_ && !pending_.empty() && pending_.front().answered) {
    writing_ = true;
    actions.write = &pending_.front().response;
  }
  if (!reading_ && !reads_ended_ && pending_.size() < max_pending_) {
    reading_ = true;
    actions.read = true;
  }
  if (reads_ended_ && pending_.empty()) {
    finished_ = true;
    actions.finish = absl::OkStatus();
  }
  return actions;
}

}  // namespace inferd
