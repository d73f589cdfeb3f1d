#include "model_store/version_plan.h"

#include <algorithm>

#include "model_store/version_policy.h"

namespace inferd {
namespace {

bool Stable(const VersionPlanInput& in, int64_t version) {
  if (!in.require_stable) return true;
  auto before = in.previous.find(version);
  return before != in.previous.end() &&
         before->second == in.on_disk.at(version);
}

// Whether `version` may be loaded now from what is on disk.
bool Loadable(const VersionPlanInput& in, int64_t version) {
  if (in.excluded.count(version) || !Stable(in, version)) return false;
  auto failed = in.failed.find(version);
  return in.retry_failed || failed == in.failed.end() ||
         failed->second != in.on_disk.at(version);
}

}  // namespace

bool FilesRemoved(const FileSet& before, const FileSet& now) {
  for (const auto& [name, stamp] : before) {
    if (!now.count(name)) return true;
  }
  return false;
}

VersionPlan PlanVersions(const VersionPlanInput& in) {
  // The policy chooses among versions that serve (and are still on disk) and
  // versions that could load now.
  std::vector<int64_t> available;
  for (const auto& [version, fingerprint] : in.on_disk) {
    if (in.serving.count(version) || Loadable(in, version)) {
      available.push_back(version);
    }
  }
  const std::vector<int64_t> selected = SelectVersions(in.policy, available);
  VersionPlan plan;
  for (int64_t version : selected) {
    auto serving = in.serving.find(version);
    if (serving == in.serving.end()) {
      plan.load.push_back(version);
      continue;
    }
    const FileSet& now = in.on_disk.at(version);
    const bool changed = in.config_changed || serving->second != now;
    if (changed && Loadable(in, version) &&
        !FilesRemoved(serving->second, now)) {
      plan.reload.push_back(version);
    } else {
      plan.keep.push_back(version);
    }
  }
  for (const auto& [version, fingerprint] : in.serving) {
    if (!std::binary_search(selected.begin(), selected.end(), version)) {
      plan.retire.push_back(version);
    }
  }
  return plan;
}

}  // namespace inferd
