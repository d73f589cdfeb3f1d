#include "tools/bench_flags.h"

#include "absl/flags/commandlineflag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "common/flags_util.h"

namespace inferd::bench {
namespace {

// Flags absl's parser handles itself, outside the flag registry.
bool IsUsageFlag(absl::string_view name) {
  for (const char* usage :
       {"help", "helpfull", "helpshort", "helppackage", "version",
        "only_check_args", "helpon", "helpmatch"}) {
    if (name == usage) {
      return true;
    }
  }
  return false;
}

}  // namespace

absl::Status CheckFlags(const std::vector<std::string>& args) {
  for (size_t i = 1; i < args.size(); ++i) {
    absl::string_view arg = args[i];
    if (arg == "--") {
      break;
    }
    if (!absl::ConsumePrefix(&arg, "-")) {
      continue;
    }
    absl::ConsumePrefix(&arg, "-");
    const size_t equals = arg.find('=');
    const bool has_value = equals != absl::string_view::npos;
    const absl::string_view name = arg.substr(0, equals);
    if (IsUsageFlag(name)) {
      continue;
    }
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (flag == nullptr && !has_value && absl::StartsWith(name, "no")) {
      const absl::CommandLineFlag* negated =
          absl::FindCommandLineFlag(name.substr(2));
      if (negated != nullptr && negated->IsOfType<bool>()) {
        continue;
      }
    }
    if (flag == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag ", args[i], "; see --help"));
    }
    if (!has_value && flag->IsOfType<bool>()) {
      continue;
    }
    if (!has_value && i + 1 == args.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("flag ", args[i], " is missing its value"));
    }
    std::string value;
    if (has_value) {
      value = absl::StrCat(arg.substr(equals + 1));
    } else {
      value = args[++i];
    }
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      return absl::InvalidArgumentError(
          absl::StrCat("flag ", args[i], ": ", error));
    }
  }
  return absl::OkStatus();
}

absl::Status ParseFlagsOrUsageError(int argc, char** argv) {
  std::vector<std::string> args = NormalizeFlagNames(argc, argv);
  // ParseCommandLine() would exit with 1 on an unknown flag or a bad value.
  if (absl::Status status = CheckFlags(args); !status.ok()) return status;
  std::vector<char*> pointers;
  pointers.reserve(args.size());
  for (std::string& arg : args) pointers.push_back(arg.data());
  const std::vector<char*> positional = absl::ParseCommandLine(
      static_cast<int>(pointers.size()), pointers.data());
  if (positional.size() > 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unexpected argument \"", positional[1], "\"; see --help"));
  }
  return absl::OkStatus();
}

void ListHelpFlagsFrom(const std::string& source) {
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [source](absl::string_view file) {
    return absl::StrContains(file, source);
  };
  usage.contains_helpshort_flags = usage.contains_help_flags;
  absl::SetFlagsUsageConfig(usage);
}

}  // namespace inferd::bench
