#ifndef INFERD_MODEL_STORE_VERSION_PLAN_H_
#define INFERD_MODEL_STORE_VERSION_PLAN_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "proto/model_config.pb.h"

namespace inferd {

// What should serve for one model, decided from what is on disk and what
// serves now. A pure function of its inputs, so every rule is tested without
// files or threads. The rules:
// - A version exists while its directory holds at least one file. A
//   directory that vanished, or was emptied, withdraws the version.
// - In poll mode (require_stable) a new or changed version is trusted only
//   once two consecutive scans saw the same files: a version still being
//   copied in, or being deleted, is never loaded half-written.
// - A serving version whose directory stays keeps serving even if its files
//   changed: it is in memory. Files changed or added, once stable, are loaded
//   again; if that fails, the old copy serves on (see VersionPlan::reload).
//   Files removed are not loaded again: that is a version being deleted, or
//   damaged, and what is left of it may load without its validation data.
// - A version that failed with the files it has now is not retried by a poll
//   (an explicit load retries it), and neither is one that failed in this
//   sync (`excluded`): the policy then picks among the others, so a version
//   that fails makes room for the next one the policy would choose.
// A version directory's regular files: relative path -> "size:mtime".
// Equal file sets on two scans mean nothing was written in between.
using FileSet = std::map<std::string, std::string>;

struct VersionPlanInput {
  inference::ModelVersionPolicy policy;
  // The files of every version directory holding at least one file.
  std::map<int64_t, FileSet> on_disk;
  // The same at the previous scan; used when require_stable.
  std::map<int64_t, FileSet> previous;
  bool require_stable = false;
  // Serving versions -> the files each was loaded from.
  std::map<int64_t, FileSet> serving;
  // Versions whose last load failed -> the files that failed (with the
  // current config: the caller forgets them when the config changes).
  std::map<int64_t, FileSet> failed;
  bool retry_failed = false;
  // The config changed: every selected version loads again.
  bool config_changed = false;
  // Versions that failed during this sync.
  std::set<int64_t> excluded;
};

struct VersionPlan {
  // Versions to load, not serving now (ascending).
  std::vector<int64_t> load;
  // Serving versions to load again (changed files or config), ascending; on
  // failure the serving copy stays.
  std::vector<int64_t> reload;
  // Serving versions that stay as they are.
  std::vector<int64_t> keep;
  // Serving versions to retire (withdrawn or no longer selected).
  std::vector<int64_t> retire;
};

VersionPlan PlanVersions(const VersionPlanInput& input);

// Whether `now` lacks a file that `before` had.
bool FilesRemoved(const FileSet& before, const FileSet& now);

}  // namespace inferd

#endif  // INFERD_MODEL_STORE_VERSION_PLAN_H_
