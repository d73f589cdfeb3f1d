#include "common/usable_cpus.h"

#include <sched.h>

#include "gtest/gtest.h"

namespace inferd {
namespace {

TEST(UsableCpusTest, CgroupV2QuotaRoundsUp) {
  EXPECT_EQ(CpusFromCgroupMax("200000 100000\n"), 2);
  EXPECT_EQ(CpusFromCgroupMax("150000 100000"), 2);
  EXPECT_EQ(CpusFromCgroupMax("50000 100000"), 1);
  EXPECT_EQ(CpusFromCgroupMax("400000 50000"), 8);
}

TEST(UsableCpusTest, CgroupV2WithoutLimitOrMalformedIsNoLimit) {
  EXPECT_EQ(CpusFromCgroupMax("max 100000"), std::nullopt);
  EXPECT_EQ(CpusFromCgroupMax(""), std::nullopt);
  EXPECT_EQ(CpusFromCgroupMax("100000"), std::nullopt);
  EXPECT_EQ(CpusFromCgroupMax("0 100000"), std::nullopt);
}

TEST(UsableCpusTest, CgroupV1Quota) {
  EXPECT_EQ(CpusFromCfsQuota("300000\n", "100000\n"), 3);
  EXPECT_EQ(CpusFromCfsQuota("-1\n", "100000\n"), std::nullopt);
  EXPECT_EQ(CpusFromCfsQuota("", ""), std::nullopt);
}

TEST(UsableCpusTest, NeverMoreThanTheAffinityMaskAllows) {
  cpu_set_t set;
  CPU_ZERO(&set);
  ASSERT_EQ(sched_getaffinity(0, sizeof(set), &set), 0);
  const int allowed = CPU_COUNT(&set);
  EXPECT_GE(UsableCpus(), 1);
  EXPECT_LE(UsableCpus(), allowed);
  // Narrowed to one CPU, the process may use one.
  cpu_set_t one;
  CPU_ZERO(&one);
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set)) {
      CPU_SET(cpu, &one);
      break;
    }
  }
  ASSERT_EQ(sched_setaffinity(0, sizeof(one), &one), 0);
  EXPECT_EQ(UsableCpus(), 1);
  ASSERT_EQ(sched_setaffinity(0, sizeof(set), &set), 0);
}

}  // namespace
}  // namespace inferd
