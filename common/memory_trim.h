#ifndef INFERD_COMMON_MEMORY_TRIM_H_
#define INFERD_COMMON_MEMORY_TRIM_H_

#include <memory>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace inferd {

// Returns the heap's free pages to the OS every `period` (glibc's
// malloc_trim(0)). glibc keeps memory a program frees: after 32 concurrent
// 60 MB requests, or a flood of reset streams, the server's resident size
// stayed at its peak though nothing used it. Trimming only releases pages
// no allocation holds; it never moves or frees live data.
// Thread-safe; the destructor stops and joins its thread.
class MemoryTrimmer {
 public:
  // Starts the thread. REQUIRES: period > 0.
  explicit MemoryTrimmer(absl::Duration period);
  ~MemoryTrimmer();

  MemoryTrimmer(const MemoryTrimmer&) = delete;
  MemoryTrimmer& operator=(const MemoryTrimmer&) = delete;

  // Trims once, now; returns whether glibc released any memory.
  static bool TrimNow();

 private:
  void Run(absl::Duration period);

  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace inferd

#endif  // INFERD_COMMON_MEMORY_TRIM_H_
