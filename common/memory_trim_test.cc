#include "common/memory_trim.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

namespace inferd {
namespace {

// This process's resident size in bytes (/proc/self/status, VmRSS).
int64_t ResidentBytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
  }
  return -1;
}

// Sanitizers replace malloc, and glibc's malloc_trim has nothing to return.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define INFERD_SANITIZER_MALLOC 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define INFERD_SANITIZER_MALLOC 1
#endif
#endif

TEST(MemoryTrimmerTest, TrimReturnsFreedHeapThatFreeKeeps) {
#ifdef INFERD_SANITIZER_MALLOC
  GTEST_SKIP() << "a sanitizer's allocator replaces glibc's malloc";
#endif
  // 128 MiB in blocks below glibc's mmap threshold, each followed by a
  // small block that stays: the freed blocks cannot merge into the top of
  // the heap, so free() keeps them all.
  constexpr int kBlocks = 2048;
  constexpr size_t kBlockBytes = 64 << 10;
  std::vector<std::unique_ptr<char[]>> blocks;
  std::vector<std::unique_ptr<char[]>> pins;
  for (int i = 0; i < kBlocks; ++i) {
    blocks.emplace_back(new char[kBlockBytes]);
    std::fill_n(blocks.back().get(), kBlockBytes, 1);
    pins.emplace_back(new char[64]);
  }
  const int64_t full = ResidentBytes();
  blocks.clear();
  const int64_t freed = ResidentBytes();
  MemoryTrimmer::TrimNow();
  const int64_t trimmed = ResidentBytes();
  // free() kept most of it; the trim gave at least half of it back.
  EXPECT_GT(freed, full - 64 * (int64_t{1} << 20));
  EXPECT_LT(trimmed, freed - 64 * (int64_t{1} << 20));
}

TEST(MemoryTrimmerTest, DestructorStopsTheThreadBeforeItsPeriod) {
  // Joins at once, not after an hour.
  MemoryTrimmer trimmer(absl::Hours(1));
}

}  // namespace
}  // namespace inferd
