#include "common/thread_scheduling.h"

#include <cerrno>
#include <cstdio>

#ifdef __linux__
#include <pthread.h>
#include <sched.h>
#endif

namespace inferd {

#ifdef __linux__

namespace {

// sched_setscheduler(0, ...) applies to the calling thread only on Linux.
int SetPolicy(int policy) {
  sched_param param{};
  param.sched_priority = 0;
  return sched_setscheduler(0, policy, &param);
}

}  // namespace

absl::Status RunInBatchClass() {
  if (SetPolicy(SCHED_BATCH) != 0) {
    return absl::ErrnoToStatus(errno, "sched_setscheduler(SCHED_BATCH)");
  }
  return absl::OkStatus();
}

void RunInDefaultClass() {
  if (sched_getscheduler(0) != SCHED_OTHER) {
    SetPolicy(SCHED_OTHER);
  }
}

bool InBatchClass() { return sched_getscheduler(0) == SCHED_BATCH; }

void NameCurrentThread(const char* name) {
  char truncated[16];
  std::snprintf(truncated, sizeof(truncated), "%s", name);
  pthread_setname_np(pthread_self(), truncated);
}

#else

absl::Status RunInBatchClass() {
  return absl::UnimplementedError("SCHED_BATCH exists only on Linux");
}

void RunInDefaultClass() {}

bool InBatchClass() { return false; }

void NameCurrentThread(const char*) {}

#endif

}  // namespace inferd
