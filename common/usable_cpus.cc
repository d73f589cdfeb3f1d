#include "common/usable_cpus.h"

#include <sched.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

namespace inferd {
namespace {

std::optional<int> CpusFromQuota(int64_t quota, int64_t period) {
  if (quota <= 0 || period <= 0) return std::nullopt;
  return static_cast<int>(std::max<int64_t>(1, (quota + period - 1) / period));
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The cgroup (v2) path of this process, from /proc/self/cgroup ("0::/x").
std::string OwnCgroupV2() {
  std::istringstream lines(ReadFile("/proc/self/cgroup"));
  std::string line;
  while (std::getline(lines, line)) {
    if (absl::StartsWith(line, "0::")) return line.substr(3);
  }
  return "";
}

}  // namespace

std::optional<int> CpusFromCgroupMax(const std::string& text) {
  std::vector<absl::string_view> fields =
      absl::StrSplit(absl::StripAsciiWhitespace(text), ' ', absl::SkipEmpty());
  int64_t quota = 0;
  int64_t period = 0;
  if (fields.size() != 2 || !absl::SimpleAtoi(fields[0], &quota) ||
      !absl::SimpleAtoi(fields[1], &period)) {
    return std::nullopt;
  }
  return CpusFromQuota(quota, period);
}

std::optional<int> CpusFromCfsQuota(const std::string& quota,
                                    const std::string& period) {
  int64_t q = 0;
  int64_t p = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(quota), &q) ||
      !absl::SimpleAtoi(absl::StripAsciiWhitespace(period), &p)) {
    return std::nullopt;
  }
  return CpusFromQuota(q, p);
}

int UsableCpus() {
  int cpus = 0;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) cpus = CPU_COUNT(&set);
  if (cpus <= 0) cpus = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  std::optional<int> limit = CpusFromCgroupMax(
      ReadFile("/sys/fs/cgroup" + OwnCgroupV2() + "/cpu.max"));
  if (!limit.has_value()) {
    limit = CpusFromCfsQuota(ReadFile("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"),
                             ReadFile("/sys/fs/cgroup/cpu/cpu.cfs_period_us"));
  }
  if (limit.has_value()) cpus = std::min(cpus, *limit);
  return std::max(cpus, 1);
}

absl::Duration ProcessCpuTime() {
  timespec used{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &used);
  return absl::DurationFromTimespec(used);
}

}  // namespace inferd
