#ifndef INFERD_COMMON_CLIENT_TEXT_H_
#define INFERD_COMMON_CLIENT_TEXT_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace inferd {

// Client-supplied text for an error message: at most `max_bytes` bytes,
// control characters escaped, with "... (N bytes)" when cut.
std::string ClientText(absl::string_view text, size_t max_bytes = 128);

}  // namespace inferd

#endif  // INFERD_COMMON_CLIENT_TEXT_H_
