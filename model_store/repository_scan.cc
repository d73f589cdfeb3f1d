#include "model_store/repository_scan.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "model_store/repository_paths.h"

namespace inferd {
namespace fs = std::filesystem;
namespace {

absl::Status Unreadable(const std::string& path, const std::error_code& ec) {
  return absl::UnavailableError(
      absl::StrCat(path, ": cannot be read (", ec.message(), ")"));
}

// "size:mtime" of a regular file; "unreadable" parts stay comparable.
std::string Stamp(const fs::path& file) {
  std::error_code ec;
  const auto size = fs::file_size(file, ec);
  const auto mtime = fs::last_write_time(file, ec).time_since_epoch().count();
  return absl::StrCat(size, ":", mtime);
}

bool IsVersionName(const std::string& name, int64_t* version) {
  return !name.empty() &&
         std::all_of(name.begin(), name.end(), absl::ascii_isdigit) &&
         absl::SimpleAtoi(name, version) && *version > 0;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ListModelDirs(
    const std::string& root) {
  std::error_code ec;
  fs::directory_iterator it(root, ec);
  if (ec == std::errc::no_such_file_or_directory) {
    return absl::NotFoundError(absl::StrCat(root, ": does not exist"));
  }
  if (ec) return Unreadable(root, ec);
  std::vector<std::string> names;
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) return Unreadable(root, ec);
    const std::string name = it->path().filename().string();
    // Only names a client could ask for, and only directories inside the
    // repository (a symbolic link may not lead out of it).
    if (it->is_directory(ec) && ValidateModelName(name).ok() &&
        DirectoryInside(it->path().string(), root)) {
      names.push_back(name);
    }
  }
  if (ec) return Unreadable(root, ec);
  std::sort(names.begin(), names.end());
  return names;
}

absl::StatusOr<FileSet> FilesUnder(const std::string& dir) {
  FileSet files;
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, ec);
  if (ec == std::errc::no_such_file_or_directory) return files;
  if (ec) return Unreadable(dir, ec);
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) return Unreadable(dir, ec);
    if (it->is_regular_file(ec)) {
      files[fs::relative(it->path(), dir, ec).string()] = Stamp(it->path());
    }
  }
  if (ec) return Unreadable(dir, ec);
  return files;
}

absl::StatusOr<ModelDirScan> ScanModelDir(const std::string& model_dir) {
  std::error_code ec;
  fs::directory_iterator it(model_dir, ec);
  if (ec == std::errc::no_such_file_or_directory ||
      ec == std::errc::not_a_directory) {
    return absl::NotFoundError(absl::StrCat(model_dir, ": does not exist"));
  }
  if (ec) return Unreadable(model_dir, ec);
  ModelDirScan scan;
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) return Unreadable(model_dir, ec);
    const std::string name = it->path().filename().string();
    int64_t version = 0;
    if (it->is_regular_file(ec)) {
      scan.top_level[name] = Stamp(it->path());
    } else if (it->is_directory(ec) && IsVersionName(name, &version) &&
               DirectoryInside(it->path().string(), model_dir)) {
      absl::StatusOr<FileSet> files = FilesUnder(it->path().string());
      if (!files.ok()) return files.status();
      if (!files->empty()) scan.versions[version] = std::move(*files);
    }
  }
  if (ec) return Unreadable(model_dir, ec);
  return scan;
}

}  // namespace inferd
