#ifndef INFERD_TOOLS_BENCH_FLAGS_H_
#define INFERD_TOOLS_BENCH_FLAGS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace inferd::bench {

// absl::ParseCommandLine() exits with status 1 on an unknown flag or a bad
// value; inferd-bench documents 2 for usage errors. Checks `args` (argv with
// normalized names, args[0] the program) against the registered flags with
// the parser's grammar (--name=value, --name value, --[no]bool; "--" ends
// the flags), so main() can exit with 2 first. Returns InvalidArgument naming
// the offending argument. Sets the flags it parses, as ParseCommandLine() will.
absl::Status CheckFlags(const std::vector<std::string>& args);

// Normalizes flag names (common/flags_util.h), checks them with CheckFlags()
// and parses them. InvalidArgument, naming the offending argument, for a bad
// flag or a positional argument; the caller exits with its usage code.
absl::Status ParseFlagsOrUsageError(int argc, char** argv);

// Makes --help list the flags defined in files whose path contains
// `source` (by default absl lists those of files named after the binary,
// and "inferd-bench" does not match inferd_bench.cc).
void ListHelpFlagsFrom(const std::string& source);

}  // namespace inferd::bench

#endif  // INFERD_TOOLS_BENCH_FLAGS_H_
