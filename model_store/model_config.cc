#include "model_store/model_config.h"

#include <fstream>
#include <set>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"
#include "model_store/data_type.h"
#include "model_store/scheduler_options.h"

namespace inferd {
namespace {

// Collects the parser's errors and its warnings about unknown fields.
class CollectingErrors : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    if (error_.empty()) {
      error_ = absl::StrCat("line ", line + 1, ", column ", column + 1, ": ",
                            message);
    }
  }
  void AddWarning(int line, google::protobuf::io::ColumnNumber column,
                  const std::string& message) override {
    warnings_.push_back(absl::StrCat("line ", line + 1, ": ", message));
  }
  const std::string& error() const { return error_; }
  std::vector<std::string>& warnings() { return warnings_; }

 private:
  std::string error_;
  std::vector<std::string> warnings_;
};

absl::Status ValidateTensor(
    absl::string_view field, int index, absl::string_view name,
    inference::DataType data_type,
    const google::protobuf::RepeatedField<int64_t>& dims,
    std::set<std::string>* names) {
  const std::string where = absl::StrCat(field, "[", index, "]");
  if (name.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ".name: is empty"));
  }
  if (!names->insert(std::string(name)).second) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ".name: \"", name, "\" is declared twice"));
  }
  if (ElementSize(data_type) == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ".data_type: ", ConfigName(data_type),
                     " is not supported; expected a numeric or boolean type"));
  }
  if (TorchTypeCode(data_type) < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, ".data_type: ", ConfigName(data_type),
        " is not supported: LibTorch models cannot compute with unsigned "
        "16-, 32- or 64-bit tensors; use TYPE_INT32 or TYPE_INT64"));
  }
  for (int64_t dim : dims) {
    if (dim != -1 && dim < 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ".dims: expected each dim >= 1 or -1 (variable), got [",
          absl::StrJoin(dims, ","), "]"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateTensors(inference::ModelConfig* config) {
  if (config->input_size() == 0) {
    return absl::InvalidArgumentError("input: at least one input is required");
  }
  if (config->output_size() == 0) {
    return absl::InvalidArgumentError(
        "output: at least one output is required");
  }
  std::set<std::string> names;
  for (int i = 0; i < config->input_size(); ++i) {
    const auto& input = config->input(i);
    absl::Status s = ValidateTensor("input", i, input.name(), input.data_type(),
                                    input.dims(), &names);
    if (!s.ok()) return s;
  }
  names.clear();
  for (int i = 0; i < config->output_size(); ++i) {
    const auto& output = config->output(i);
    absl::Status s = ValidateTensor("output", i, output.name(),
                                    output.data_type(), output.dims(), &names);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

// Longest delay or timeout a config may ask for: keeps microsecond counts far
// from the int64 overflow of absl::Duration arithmetic (about 11.5 days).
constexpr uint64_t kMaxMicroseconds = 1'000'000'000'000;

absl::Status CheckMicroseconds(absl::string_view field, uint64_t value) {
  if (value > kMaxMicroseconds) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": expected at most ", kMaxMicroseconds, ", got ", value));
  }
  return absl::OkStatus();
}

absl::Status ValidateBatching(const inference::ModelConfig& config) {
  if (config.max_batch_size() < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_batch_size: expected >= 0, got ", config.max_batch_size()));
  }
  if (!config.has_dynamic_batching()) return absl::OkStatus();
  if (config.max_batch_size() == 0) {
    return absl::InvalidArgumentError(
        "dynamic_batching: requires max_batch_size >= 1 (the model must have "
        "a batch dimension)");
  }
  const auto& queue = config.dynamic_batching().default_queue_policy();
  absl::Status s = CheckMicroseconds(
      "dynamic_batching.max_queue_delay_microseconds",
      config.dynamic_batching().max_queue_delay_microseconds());
  if (s.ok()) {
    s = CheckMicroseconds(
        "dynamic_batching.default_queue_policy.default_timeout_microseconds",
        queue.default_timeout_microseconds());
  }
  if (!s.ok()) return s;
  if (queue.timeout_action() != inference::ModelQueuePolicy::REJECT) {
    return absl::InvalidArgumentError(
        "dynamic_batching.default_queue_policy.timeout_action: only REJECT is "
        "supported");
  }
  auto mode = config.parameters().find(std::string(kQueueDelayParameter));
  if (mode != config.parameters().end() &&
      mode->second.string_value() != "adaptive" &&
      mode->second.string_value() != "fixed") {
    return absl::InvalidArgumentError(absl::StrCat(
        "parameters[\"", kQueueDelayParameter, "\"]: expected \"adaptive\" or "
        "\"fixed\", got \"", mode->second.string_value(), "\""));
  }
  return ValidateBatchPolicyOptions(
      SchedulerOptionsFromConfig(config, config.name()).policy);
}

absl::Status ValidateInstanceGroups(inference::ModelConfig* config) {
  if (config->instance_group_size() == 0) {
    auto* group = config->add_instance_group();
    group->set_kind(inference::ModelInstanceGroup::KIND_CPU);
    group->set_count(1);
  }
  for (int i = 0; i < config->instance_group_size(); ++i) {
    auto* group = config->mutable_instance_group(i);
    const std::string where = absl::StrCat("instance_group[", i, "]");
    if (group->count() < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ".count: expected >= 1, got ", group->count()));
    }
    if (group->count() == 0) group->set_count(1);
    for (int gpu : group->gpus()) {
      if (gpu < 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, ".gpus: expected GPU ordinals >= 0, got ", gpu));
      }
    }
    switch (group->kind()) {
      case inference::ModelInstanceGroup::KIND_AUTO:
      case inference::ModelInstanceGroup::KIND_CPU:
        break;
      case inference::ModelInstanceGroup::KIND_GPU:
        // Whether a GPU exists is the loader's question (TorchModelLoader).
        break;
      default:
        return absl::InvalidArgumentError(absl::StrCat(
            where,
            ".kind: ", inference::ModelInstanceGroup::Kind_Name(group->kind()),
            " is not supported; expected KIND_CPU, KIND_GPU or KIND_AUTO"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ParsedConfig> ParseModelConfig(absl::string_view text) {
  ParsedConfig parsed;
  CollectingErrors errors;
  google::protobuf::TextFormat::Parser parser;
  parser.AllowUnknownField(true);
  parser.AllowUnknownExtension(true);
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(std::string(text), &parsed.config)) {
    return absl::InvalidArgumentError(
        absl::StrCat("config.pbtxt: ", errors.error()));
  }
  parsed.ignored_fields = std::move(errors.warnings());
  return parsed;
}

absl::Status ValidateModelConfig(absl::string_view directory_name,
                                 inference::ModelConfig* config) {
  if (config->name().empty()) config->set_name(std::string(directory_name));
  if (config->name() != directory_name) {
    return absl::InvalidArgumentError(absl::StrCat(
        "name: \"", config->name(),
        "\" must match the model's directory name \"", directory_name, "\""));
  }
  // Triton's PyTorch backend: backend "pytorch" with platform
  // "pytorch_libtorch" (TorchScript), "torch_aoti" (.pt2) or none
  // (TorchScript).
  const bool pytorch =
      config->backend().empty() || config->backend() == "pytorch";
  if (config->platform().empty()) config->set_platform("pytorch_libtorch");
  if (!pytorch || !(config->platform() == "pytorch_libtorch" ||
                    config->platform() == "torch_aoti")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "platform: \"", config->platform(), "\" backend: \"", config->backend(),
        "\"; expected platform \"pytorch_libtorch\" (TorchScript, model.pt) or "
        "\"torch_aoti\" (torch.export + AOTInductor, model.pt2), optionally "
        "with backend \"pytorch\""));
  }
  if (absl::Status s = ValidateTensors(config); !s.ok()) return s;
  if (absl::Status s = ValidateBatching(*config); !s.ok()) return s;
  return ValidateInstanceGroups(config);
}

absl::StatusOr<ParsedConfig> ReadModelConfig(const std::string& path,
                                             absl::string_view directory_name) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) return text.status();
  absl::StatusOr<ParsedConfig> parsed = ParseModelConfig(*text);
  if (!parsed.ok()) return parsed.status();
  absl::Status valid = ValidateModelConfig(directory_name, &parsed->config);
  if (!valid.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": ", valid.message()));
  }
  return parsed;
}

absl::StatusOr<std::vector<std::string>> ReadLabels(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) return text.status();
  std::vector<std::string> labels;
  std::istringstream lines(*text);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    labels.push_back(std::move(line));
  }
  return labels;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
  std::ostringstream contents;
  contents << in.rdbuf();
  if (in.bad()) return absl::InternalError(absl::StrCat(path, ": read failed"));
  return contents.str();
}

}  // namespace inferd
