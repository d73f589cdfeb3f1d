#include "common/logging.h"

#include <unistd.h>

#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace inferd {

void LogLine(absl::string_view severity, absl::string_view message) {
  std::string line =
      absl::StrCat(severity,
                   absl::FormatTime(" %Y-%m-%dT%H:%M:%E6S ", absl::Now(),
                                    absl::UTCTimeZone()),
                   message, "\n");
  // A single write(2) keeps lines from concurrent threads whole.
  ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
}

}  // namespace inferd
