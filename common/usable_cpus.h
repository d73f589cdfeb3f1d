#ifndef INFERD_COMMON_USABLE_CPUS_H_
#define INFERD_COMMON_USABLE_CPUS_H_

#include <optional>
#include <string>

#include "absl/time/time.h"

namespace inferd {

// The CPUs this process may use: those its affinity mask allows, lowered to
// its cgroup's CPU quota (cgroup v2 cpu.max, or v1 cpu.cfs_quota_us /
// cpu.cfs_period_us), rounded up. At least 1. A container limited to
// "2 CPUs" on a 64-core node so gets 2, not 64.
int UsableCpus();

// The CPU time all of this process's threads have used so far
// (CLOCK_PROCESS_CPUTIME_ID; about a microsecond a call with 50 threads).
absl::Duration ProcessCpuTime();

// The CPU limit of a cgroup v2 `cpu.max` line ("200000 100000" -> 2,
// "150000 100000" -> 2); nullopt for "max ..." (no limit) or text that is
// not a quota.
std::optional<int> CpusFromCgroupMax(const std::string& text);

// The same for cgroup v1's quota and period files' contents ("-1": none).
std::optional<int> CpusFromCfsQuota(const std::string& quota,
                                    const std::string& period);

}  // namespace inferd

#endif  // INFERD_COMMON_USABLE_CPUS_H_
