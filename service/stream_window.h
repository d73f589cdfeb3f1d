#ifndef INFERD_SERVICE_STREAM_WINDOW_H_
#define INFERD_SERVICE_STREAM_WINDOW_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "model_store/infer_request.h"
#include "proto/inference.pb.h"

namespace inferd {

// The one ModelStreamInferResponse that answers `request` with `result`:
// the encoded response, or `result`'s message in error_message with the
// request's id, model name and version echoed so the client can match it.
inference::ModelStreamInferResponse StreamAnswer(
    const inference::ModelInferRequest& request,
    absl::StatusOr<InferResponse> result);

// The bookkeeping of one ModelStreamInfer stream, apart from gRPC and
// threads: the requests read and not yet answered on the wire, in the order
// they came; when to read, which answer to write next and when to finish.
//
// At most `max_pending` requests are held at once, whether being inferred or
// answered and waiting for their turn to be written; a stream at its bound
// reads nothing more until an answer has been written, so a client that
// sends faster than the model answers, or reads its answers slowly, is held
// back by gRPC's flow control instead of growing the server's memory. One
// read and one write are outstanding at most (gRPC's callback API allows no
// more). Answers are written in request order, whatever order the model
// answers in.
//
// States, and the only transitions: open (reading) --client half-closes-->
// draining --every answer written--> finished OK; open or draining
// --Cancel() or a failed write--> finished CANCELLED (once no write is
// outstanding). Nothing is read or written after Cancel().
//
// Not thread-safe: the stream's reactor calls it under its lock.
class StreamWindow {
 public:
  // What the reactor must start now; each at most once. `write` stays valid
  // until WriteDone().
  struct Actions {
    bool read = false;
    const inference::ModelStreamInferResponse* write = nullptr;
    std::optional<absl::Status> finish;  // OK, or Cancelled
  };

  // REQUIRES: max_pending >= 1.
  explicit StreamWindow(size_t max_pending);

  // The outstanding read delivered `request`, which joins the window; its
  // sequence number is what Answer() takes. The window owns the request
  // until it is answered (request() points to it). The read counts as
  // outstanding until Dispatched(), so that a stream's requests reach the
  // model in the order they came. REQUIRES: a read is outstanding.
  uint64_t Accept(std::unique_ptr<inference::ModelInferRequest> request);
  // The request Accept() returned `sequence` for; valid until its Answer().
  const inference::ModelInferRequest& request(uint64_t sequence) const;
  // The accepted request has been handed to the model: reading may go on.
  void Dispatched();
  // The outstanding read failed: the client half-closed (or the stream
  // broke). Once every held request is answered and written, the stream
  // finishes OK. REQUIRES: a read is outstanding.
  void ReadsEnded();

  // The model's one answer to request `sequence`. Its request is released.
  // After the stream finished the answer is dropped.
  void Answer(uint64_t sequence, absl::StatusOr<InferResponse> result);
  // The outstanding write completed; !ok: the client is gone, and the
  // stream finishes CANCELLED. REQUIRES: a write is outstanding.
  void WriteDone(bool ok);
  // The client cancelled or the deadline passed: nothing more is read or
  // written, and the stream finishes CANCELLED once no write is outstanding.
  void Cancel();

  // Decides what to start now and records it as started.
  Actions Next();

  // Requests held: accepted and not yet written (or dropped).
  size_t pending() const { return pending_.size(); }
  bool finished() const { return finished_; }

 private:
  struct Entry {
    std::unique_ptr<inference::ModelInferRequest> request;  // until answered
    bool answered = false;
    inference::ModelStreamInferResponse response;  // once answered
  };

  Entry& At(uint64_t sequence);

  const size_t max_pending_;
  // Held requests in stream order; pending_[i] has sequence first_ + i.
  std::deque<Entry> pending_;
  uint64_t first_ = 0;
  bool reading_ = false;      // a read is outstanding or being dispatched
  bool reads_ended_ = false;  // the client sends nothing more
  bool writing_ = false;      // pending_.front().response is being written
  bool cancelled_ = false;
  bool finished_ = false;
};

}  // namespace inferd

#endif  // INFERD_SERVICE_STREAM_WINDOW_H_
