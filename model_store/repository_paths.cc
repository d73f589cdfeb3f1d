#include "model_store/repository_paths.h"

#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/client_text.h"

namespace inferd {
namespace fs = std::filesystem;

absl::Status ValidateModelName(absl::string_view name) {
  auto refuse = [name](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(
        "model name \"", ClientText(name), "\": ", why,
        "; expected one directory name of the model repository (1 to ",
        kMaxModelNameBytes,
        " bytes, no '/', control characters, or leading '.')"));
  };
  if (name.empty()) return refuse("empty");
  if (name.size() > kMaxModelNameBytes) {
    return refuse(absl::StrCat("longer than ", kMaxModelNameBytes, " bytes"));
  }
  for (const char ch : name) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (c == '/') return refuse("contains '/'");
    if (c < 0x20 || c == 0x7f) return refuse("contains a control character");
  }
  if (name == "." || name == "..") return refuse("not a model directory");
  if (name.front() == '.') return refuse("starts with '.'");
  return absl::OkStatus();
}

namespace {

// Whether canonical path `path` is `root` or lies below it.
bool Below(const fs::path& path, const fs::path& root) {
  auto p = path.begin();
  for (auto r = root.begin(); r != root.end(); ++r, ++p) {
    if (p == path.end() || *p != *r) return false;
  }
  return true;
}

}  // namespace

bool DirectoryInside(const std::string& dir, const std::string& root) {
  std::error_code ec;
  const fs::path canonical_root = fs::canonical(root, ec);
  if (ec) return false;
  const fs::path canonical_dir = fs::canonical(dir, ec);
  if (ec || !fs::is_directory(canonical_dir, ec)) return false;
  return Below(canonical_dir, canonical_root);
}

absl::StatusOr<std::string> ResolveInside(const std::string& dir,
                                          absl::string_view relative,
                                          absl::string_view field,
                                          const std::string& jail) {
  const absl::Status refused = absl::NotFoundError(
      absl::StrCat(field, " \"", ClientText(relative),
                   "\": no such regular file inside the model directory"));
  if (relative.empty() || relative.find('\0') != absl::string_view::npos) {
    return refused;
  }
  const std::string path = absl::StrCat(dir, "/", relative);
  std::error_code ec;
  const fs::path canonical_jail = fs::canonical(jail.empty() ? dir : jail, ec);
  if (ec) return refused;
  const fs::path resolved = fs::canonical(path, ec);
  if (ec || !Below(resolved, canonical_jail) ||
      !fs::is_regular_file(resolved, ec)) {
    return refused;
  }
  return path;
}

std::string WithoutRoot(absl::string_view message, absl::string_view root) {
  if (root.empty()) return std::string(message);
  std::string trimmed(root);
  while (trimmed.size() > 1 && trimmed.back() == '/') trimmed.pop_back();
  return absl::StrReplaceAll(message, {{absl::StrCat(trimmed, "/"), ""}});
}

absl::Status WithoutRoot(const absl::Status& status, absl::string_view root) {
  if (status.ok()) return status;
  return absl::Status(status.code(), WithoutRoot(status.message(), root));
}

}  // namespace inferd
