#include "common/thread_scheduling.h"

#include <pthread.h>

#include <string>
#include <thread>

#include "gtest/gtest.h"

namespace inferd {
namespace {

#ifdef __linux__

TEST(ThreadSchedulingTest, BatchClassIsInheritedAndDefaultClassRestores) {
  ASSERT_FALSE(InBatchClass());
  ASSERT_TRUE(RunInBatchClass().ok());
  EXPECT_TRUE(InBatchClass());

  bool child_inherited = false;
  bool child_restored = true;
  std::thread child([&] {
    child_inherited = InBatchClass();
    RunInDefaultClass();
    child_restored = !InBatchClass();
  });
  child.join();
  EXPECT_TRUE(child_inherited);
  EXPECT_TRUE(child_restored);
  // The child's switch back is its own; this thread is still in the class.
  EXPECT_TRUE(InBatchClass());

  RunInDefaultClass();
  EXPECT_FALSE(InBatchClass());
  RunInDefaultClass();  // Already there: a no-op.
  EXPECT_FALSE(InBatchClass());
}

TEST(ThreadSchedulingTest, NameCurrentThreadKeepsFifteenCharacters) {
  std::string seen;
  std::thread named([&] {
    NameCurrentThread("a-rather-long-thread-name");
    char name[32] = {};
    pthread_getname_np(pthread_self(), name, sizeof(name));
    seen = name;
  });
  named.join();
  EXPECT_EQ(seen, "a-rather-long-t");
}

#else

TEST(ThreadSchedulingTest, RefusedWithoutLinuxClasses) {
  EXPECT_EQ(RunInBatchClass().code(), absl::StatusCode::kUnimplemented);
  EXPECT_FALSE(InBatchClass());
}

#endif

}  // namespace
}  // namespace inferd
