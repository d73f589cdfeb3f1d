#ifndef INFERD_MODEL_STORE_REPOSITORY_PATHS_H_
#define INFERD_MODEL_STORE_REPOSITORY_PATHS_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace inferd {

// The model repository is a jail: every name a client sends and every path
// a config names stays inside it. (Its model files are code, and run with
// the server's rights: the repository itself must be trusted.)

// Longest model name, in bytes (a file name on Linux filesystems).
inline constexpr size_t kMaxModelNameBytes = 255;

// Whether `name` can name a model directory: one path component of 1 to
// kMaxModelNameBytes bytes, not "." or "..", no '/', no NUL or other
// control character, not starting with '.' (hidden directories are where
// publishers stage copies). InvalidArgument saying what was wrong and what
// is expected; the name itself is quoted truncated (see ClientText).
absl::Status ValidateModelName(absl::string_view name);

// `dir`/`relative` (a file a config names, e.g. `label_filename`) when,
// with every symbolic link followed, it is a regular file inside `jail`
// (default: `dir`). NotFound otherwise, with one message for "missing" and
// "outside" (so that errors do not reveal the host's files), naming `field`
// and `relative`, not the directories.
absl::StatusOr<std::string> ResolveInside(const std::string& dir,
                                          absl::string_view relative,
                                          absl::string_view field,
                                          const std::string& jail = "");

// Whether directory `dir`, with symbolic links followed, lies inside
// directory `root` (also followed). False when either does not exist.
bool DirectoryInside(const std::string& dir, const std::string& root);

// `message` with every "ROOT/" (`root` being the repository's directory)
// removed, so that a reason shown to clients names paths relative to the
// repository ("iris/1/model.pt") and not the host's layout.
std::string WithoutRoot(absl::string_view message, absl::string_view root);
absl::Status WithoutRoot(const absl::Status& status, absl::string_view root);

}  // namespace inferd

#endif  // INFERD_MODEL_STORE_REPOSITORY_PATHS_H_
