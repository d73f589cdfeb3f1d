#ifndef INFERD_COMMON_LOGGING_H_
#define INFERD_COMMON_LOGGING_H_

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace inferd {

// Writes one timestamped line to stderr. Thread-safe (one write per line).
void LogLine(absl::string_view severity, absl::string_view message);

template <typename... Args>
void LogInfo(const Args&... args) {
  LogLine("I", absl::StrCat(args...));
}

template <typename... Args>
void LogWarning(const Args&... args) {
  LogLine("W", absl::StrCat(args...));
}

template <typename... Args>
void LogError(const Args&... args) {
  LogLine("E", absl::StrCat(args...));
}

}  // namespace inferd

#endif  // INFERD_COMMON_LOGGING_H_
