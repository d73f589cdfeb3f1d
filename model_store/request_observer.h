#ifndef INFERD_MODEL_STORE_REQUEST_OBSERVER_H_
#define INFERD_MODEL_STORE_REQUEST_OBSERVER_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/protocol.h"

namespace inferd {

// The one accounting path of a model version's requests: the serving layer
// (ServableModel) reports each stage of each request here, with durations
// measured on its injected clock. Implementations are thread-safe and do
// not block.
class RequestObserver {
 public:
  virtual ~RequestObserver() = default;
  // A request arrived and was queued (or refused); `depth` requests wait.
  virtual void OnQueueDepth(size_t depth) = 0;
  // A request left the queue for a batch after waiting `queued`.
  virtual void OnDequeued(absl::Duration queued) = 0;
  // A batch of `requests` requests and `rows` rows took `input` to gather
  // its requests' inputs into the model's tensors, then ran for `compute`,
  // ending at `end`; `ok`: the model answered it.
  virtual void OnBatchDone(int64_t requests, int64_t rows, absl::Duration input,
                           absl::Duration compute, bool ok, absl::Time end) = 0;
  // One request's outputs took `output` to cut from the batch's tensors and
  // encode.
  virtual void OnOutput(absl::Duration output) = 0;
  // A request that came through `protocol` was answered with `code`, `total`
  // after it arrived.
  virtual void OnAnswered(Protocol protocol, absl::StatusCode code,
                          absl::Duration total) = 0;
};

}  // namespace inferd

#endif  // INFERD_MODEL_STORE_REQUEST_OBSERVER_H_
