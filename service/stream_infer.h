#ifndef INFERD_SERVICE_STREAM_INFER_H_
#define INFERD_SERVICE_STREAM_INFER_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "model_store/infer_request.h"
#include "proto/inference.grpc.pb.h"
#include "service/stream_window.h"

namespace inferd {

// Requests one ModelStreamInfer stream holds at once (being inferred, or
// answered and waiting to be written) before it stops reading: enough to
// keep the batcher fed from a single stream, and a bound on the stream's
// memory (64 requests and their answers).
inline constexpr size_t kStreamMaxPending = 64;

// Sends one request down the path every inference request takes
// (InferenceCore::Infer): `done` receives its one answer, on any
// thread, possibly before this returns. `request` and `*cancelled` must
// stay valid until then. `start` is when the request arrived.
using SubmitInferFn =
    std::function<void(const inference::ModelInferRequest& request,
                       absl::Time start, absl::Time deadline,
                       const std::atomic<bool>* cancelled, InferCallback done)>;

// One ModelStreamInfer call (Triton's semantics for non-decoupled models):
// each request read is submitted like a ModelInfer call, and answered with
// one ModelStreamInferResponse, in request order; a failed request is
// answered with its error_message and the stream goes on. The stream ends OK
// once the client has half-closed and every answer is written. Up to
// `max_pending` requests are in flight at once (see StreamWindow).
//
// When the client cancels, its deadline passes or a write fails, every
// request in flight is marked cancelled (the batcher drops those still
// queued) and the call finishes at once. The reactor deletes itself once
// gRPC is done with it (OnDone) and every request it submitted has been
// answered, whichever comes last: the model's answer may come later, from a
// worker. Thread-safe: gRPC's reactions and the model's answers arrive on
// any threads.
class StreamInferReactor final
    : public grpc::ServerBidiReactor<inference::ModelInferRequest,
                                     inference::ModelStreamInferResponse> {
 public:
  // `deadline` is the call's; `submit` must stay callable until OnDone.
  // Starts reading at once. REQUIRES: max_pending >= 1.
  StreamInferReactor(absl::Time deadline, SubmitInferFn submit,
                     size_t max_pending = kStreamMaxPending);

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  // Deleted only by Unref().
  ~StreamInferReactor() override = default;

  // The model's answer to request `sequence`.
  void Answer(uint64_t sequence, absl::StatusOr<InferResponse> result);
  // Starts the reads, writes and Finish the window asks for. gRPC runs no
  // reaction inline in these calls, so holding mu_ here is safe.
  void ProceedLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Drops one reference; the last one deletes the reactor.
  void Unref() ABSL_LOCKS_EXCLUDED(mu_);

  const absl::Time deadline_;
  const SubmitInferFn submit_;
  // Every request of this stream points to it (InferRequest::cancelled);
  // set once nobody will read their answers.
  std::atomic<bool> cancelled_{false};

  absl::Mutex mu_;
  StreamWindow window_ ABSL_GUARDED_BY(mu_);
  // Where the outstanding read lands.
  std::unique_ptr<inference::ModelInferRequest> incoming_ ABSL_GUARDED_BY(mu_);
  // gRPC's (until OnDone) plus one per request submitted and not answered.
  int refs_ ABSL_GUARDED_BY(mu_) = 1;
};

}  // namespace inferd

#endif  // INFERD_SERVICE_STREAM_INFER_H_
