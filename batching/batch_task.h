#ifndef INFERD_BATCHING_BATCH_TASK_H_
#define INFERD_BATCHING_BATCH_TASK_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace inferd::batching {

// One unit of work the scheduler may group with others. The batching library
// knows nothing else about it: the processor that executes a batch casts it
// back to its own type.
//
// Implementations must make cancelled() and deadline() safe to call from any
// thread while the task sits in a queue.
class BatchTask {
 public:
  virtual ~BatchTask() = default;

  // Rows this task contributes to a batch (its size along dimension 0); ≥ 1.
  virtual int64_t rows() const = 0;

  // Tasks whose keys differ never share a batch (e.g. different non-batch
  // dimensions).
  virtual uint64_t shape_key() const = 0;

  // When the caller stops waiting; absl::InfiniteFuture() for never. A task
  // still queued at its deadline is failed with DeadlineExceeded and never
  // executed.
  virtual absl::Time deadline() const = 0;

  // True once the caller gave up; a cancelled task is dropped from the queue.
  virtual bool cancelled() const = 0;

  // The priority asked for: 0 for the queue's default level, else a level
  // in [1, priority_levels] (see queue_policy.h); another value is refused
  // when the task is submitted.
  virtual uint64_t priority() const { return 0; }

  // The task's own queue timeout; zero for none. Honoured only where its
  // level's QueuePolicy allows an override, and only when shorter.
  virtual absl::Duration timeout() const { return absl::ZeroDuration(); }

  // Answers the task without executing it. Called exactly once for a task
  // that is not handed to the processor, never while a scheduler lock is held.
  virtual void Fail(const absl::Status& status) = 0;
};

using Batch = std::vector<std::unique_ptr<BatchTask>>;

}  // namespace inferd::batching

#endif  // INFERD_BATCHING_BATCH_TASK_H_
