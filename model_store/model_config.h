#ifndef INFERD_MODEL_STORE_MODEL_CONFIG_H_
#define INFERD_MODEL_STORE_MODEL_CONFIG_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/model_config.pb.h"

namespace inferd {

struct ParsedConfig {
  inference::ModelConfig config;
  // Fields of Triton's schema (or typos) that inferd does not implement; they
  // are ignored, and the caller logs them.
  std::vector<std::string> ignored_fields;
};

// Parses config.pbtxt text (protobuf text format). InvalidArgument with the
// line and column of a syntax error.
absl::StatusOr<ParsedConfig> ParseModelConfig(absl::string_view text);

// Checks that `config` (of the model in directory `directory_name`) is
// complete and consistent, filling defaults (name, platform, instance count).
// InvalidArgument naming the offending field otherwise.
absl::Status ValidateModelConfig(absl::string_view directory_name,
                                 inference::ModelConfig* config);

// Reads a config.pbtxt file, parses and validates it.
absl::StatusOr<ParsedConfig> ReadModelConfig(const std::string& path,
                                             absl::string_view directory_name);

// Reads a labels file: one label per line, trailing '\r' removed.
absl::StatusOr<std::vector<std::string>> ReadLabels(const std::string& path);

// Reads a whole file. NotFound when it does not exist.
absl::StatusOr<std::string> ReadFile(const std::string& path);

}  // namespace inferd

#endif  // INFERD_MODEL_STORE_MODEL_CONFIG_H_
