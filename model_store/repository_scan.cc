#include "model_store/repository_scan.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace inferd {
namespace fs = std::filesystem;

std::vector<std::string> ListModelDirs(const std::string& root) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    const std::string name = entry.path().filename().string();
    // Hidden directories are where safe publishers stage their copies.
    if (entry.is_directory(ec) && !name.empty() && name[0] != '.') {
      names.push_back(name);
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string Fingerprint(const std::string& path) {
  std::error_code ec;
  auto describe = [&ec](const fs::path& file, const std::string& name) {
    const auto size = fs::file_size(file, ec);
    const auto mtime = fs::last_write_time(file, ec).time_since_epoch().count();
    return absl::StrCat(name, ":", size, ":", mtime, ";");
  };
  if (fs::is_regular_file(path, ec)) return describe(path, "");
  std::vector<std::string> parts;
  for (auto it = fs::recursive_directory_iterator(path, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec)) {
      parts.push_back(
          describe(it->path(), fs::relative(it->path(), path, ec).string()));
    }
  }
  std::sort(parts.begin(), parts.end());
  std::string fingerprint;
  for (const std::string& part : parts) fingerprint += part;
  return fingerprint;
}

std::string TopLevelFingerprint(const std::string& model_dir) {
  std::vector<std::string> parts;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(model_dir, ec)) {
    if (entry.is_regular_file(ec)) {
      parts.push_back(absl::StrCat(entry.path().filename().string(), "=",
                                   Fingerprint(entry.path().string())));
    }
  }
  std::sort(parts.begin(), parts.end());
  std::string fingerprint;
  for (const std::string& part : parts) fingerprint += part;
  return fingerprint;
}

std::map<int64_t, std::string> ScanVersions(const std::string& model_dir) {
  std::map<int64_t, std::string> versions;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(model_dir, ec)) {
    int64_t version = 0;
    const std::string name = entry.path().filename().string();
    if (entry.is_directory(ec) && !name.empty() &&
        std::all_of(name.begin(), name.end(), absl::ascii_isdigit) &&
        absl::SimpleAtoi(name, &version) && version > 0) {
      versions[version] = Fingerprint(entry.path().string());
    }
  }
  return versions;
}

}  // namespace inferd
