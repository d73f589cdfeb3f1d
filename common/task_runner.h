#ifndef INFERD_COMMON_TASK_RUNNER_H_
#define INFERD_COMMON_TASK_RUNNER_H_

#include <deque>
#include <functional>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace inferd {

// One background thread that runs posted closures in order, for slow work
// that must not block the thread posting it (e.g. a model load requested by
// an RPC). Thread-safe. The destructor runs what is queued, then joins.
class TaskRunner {
 public:
  TaskRunner();
  ~TaskRunner();
  TaskRunner(const TaskRunner&) = delete;
  TaskRunner& operator=(const TaskRunner&) = delete;

  // Queues `task`; never blocks.
  void Post(std::function<void()> task);

 private:
  void Loop();

  absl::Mutex mu_;
  std::deque<std::function<void()>> tasks_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace inferd

#endif  // INFERD_COMMON_TASK_RUNNER_H_
