#ifndef INFERD_COMMON_FLAGS_UTIL_H_
#define INFERD_COMMON_FLAGS_UTIL_H_

#include <string>
#include <vector>

namespace inferd {

// Abseil flags are spelled with underscores; Triton's operators type
// `--model-repository`. Returns argv with '-' turned into '_' in the name part
// of every "--flag[=value]" argument (values are left alone). Arguments after
// a bare "--" are left alone too.
std::vector<std::string> NormalizeFlagNames(int argc, char** argv);

// absl::ParseCommandLine() over NormalizeFlagNames(argc, argv): sets the
// flags, accepting both spellings; exits on a bad flag as absl does.
void ParseFlagsAllowingDashes(int argc, char** argv);

}  // namespace inferd

#endif  // INFERD_COMMON_FLAGS_UTIL_H_
