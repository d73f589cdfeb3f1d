#ifndef INFERD_MODEL_STORE_REPOSITORY_SCAN_H_
#define INFERD_MODEL_STORE_REPOSITORY_SCAN_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace inferd {

// Names of the model directories under `root`, sorted.
std::vector<std::string> ListModelDirs(const std::string& root);

// A summary of every regular file under `path` (or of `path` itself when it
// is a file): relative name, size and modification time. Equal fingerprints
// on two scans mean nothing was written in between. Empty when `path` does
// not exist.
std::string Fingerprint(const std::string& path);

// Fingerprint of the regular files directly in `model_dir` (config.pbtxt,
// labels): a change means every version must reload.
std::string TopLevelFingerprint(const std::string& model_dir);

// The numeric subdirectories (versions > 0) of `model_dir` with their
// fingerprints.
std::map<int64_t, std::string> ScanVersions(const std::string& model_dir);

}  // namespace inferd

#endif  // INFERD_MODEL_STORE_REPOSITORY_SCAN_H_
