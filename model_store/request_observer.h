#ifndef INFERD_MODEL_STORE_REQUEST_OBSERVER_H_
#define INFERD_MODEL_STORE_REQUEST_OBSERVER_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/time/time.h"

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
  // A batch of `requests` requests and `rows` rows ran for `compute`,
  // ending at `end`; `ok`: the model answered it.
  virtual void OnBatchDone(int64_t requests, int64_t rows,
                           absl::Duration compute, bool ok, absl::Time end) = 0;
  // A request was answered with `code`, `total` after it arrived.
  virtual void OnAnswered(absl::StatusCode code, absl::Duration total) = 0;
};

}  // namespace inferd

#endif  // INFERD_MODEL_STORE_REQUEST_OBSERVER_H_
