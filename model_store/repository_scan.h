#ifndef INFERD_MODEL_STORE_REPOSITORY_SCAN_H_
#define INFERD_MODEL_STORE_REPOSITORY_SCAN_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "model_store/version_plan.h"

namespace inferd {

// Names of the model directories under `root`, sorted (hidden ones, where
// safe publishers stage their copies, left out). Errors: NotFound when
// `root` does not exist, Unavailable when it cannot be read: a repository
// that vanished or became unreadable is a fault, not an empty repository.
absl::StatusOr<std::vector<std::string>> ListModelDirs(const std::string& root);

// What one scan sees of a model directory.
struct ModelDirScan {
  // Its regular files (config.pbtxt, labels): a change reloads the model.
  FileSet top_level;
  // Its numeric subdirectories (versions > 0) that hold at least one file.
  // An empty version directory is not a version (yet, or any more).
  std::map<int64_t, FileSet> versions;
};

// Errors: NotFound when `model_dir` does not exist (the model was removed),
// Unavailable when it, or one of its version directories, cannot be read.
absl::StatusOr<ModelDirScan> ScanModelDir(const std::string& model_dir);

// The regular files under `dir`, recursively; empty when it does not exist.
// Errors: Unavailable when it cannot be listed.
absl::StatusOr<FileSet> FilesUnder(const std::string& dir);

}  // namespace inferd

#endif  // INFERD_MODEL_STORE_REPOSITORY_SCAN_H_
