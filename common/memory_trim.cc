#include "common/memory_trim.h"

#include <malloc.h>

namespace inferd {

MemoryTrimmer::MemoryTrimmer(absl::Duration period)
    : thread_([this, period] { Run(period); }) {}

MemoryTrimmer::~MemoryTrimmer() {
  stop_.Notify();
  thread_.join();
}

bool MemoryTrimmer::TrimNow() { return malloc_trim(0) == 1; }

void MemoryTrimmer::Run(absl::Duration period) {
  while (!stop_.WaitForNotificationWithTimeout(period)) TrimNow();
}

}  // namespace inferd
