#include "model_store/model_config.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <system_error>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/client_text.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/json_util.h"
#include "model_store/data_type.h"
#include "model_store/scheduler_options.h"
#include "model_store/shape.h"

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

// "N bytes", or what an overflowing count stands for.
std::string BytesText(std::optional<int64_t> bytes) {
  return bytes ? absl::StrCat(*bytes, " bytes") : "more than 2^63 bytes";
}

// Each of `dims` is -1 (variable) or in [1, kMaxDim].
absl::Status CheckDims(absl::string_view field,
                       const google::protobuf::RepeatedField<int64_t>& dims) {
  for (int64_t dim : dims) {
    if (dim != -1 && dim < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": expected each dim >= 1 or -1 (variable), got ",
                       ShapeString(dims)));
    }
  }
  for (int64_t dim : dims) {
    if (dim > kMaxDim) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": dim ", dim, " is too large in ",
                       ShapeString(dims), "; at most ", kMaxDim, " allowed"));
    }
  }
  return absl::OkStatus();
}

// Bytes of a full batch, max(max_batch_size, 1) rows, of `dims` (variable
// dims as 1) of `data_type`; InvalidArgument naming `field` past
// kMaxTensorBytes.
absl::StatusOr<int64_t> CheckTensorBytes(
    absl::string_view field,
    const google::protobuf::RepeatedField<int64_t>& dims,
    inference::DataType data_type, int64_t max_batch_size) {
  const bool batched = max_batch_size > 0;
  const std::optional<int64_t> bytes =
      SmallestByteCount(dims, batched, max_batch_size, ElementSize(data_type));
  if (!bytes || *bytes > kMaxTensorBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": ", ShapeString(dims), " of ", ConfigName(data_type),
        batched
            ? absl::StrCat(" times max_batch_size ", max_batch_size, " rows")
            : std::string(),
        " is ", BytesText(bytes), " (variable dims counted as 1); at most ",
        kMaxTensorBytes, " bytes (1 GiB) allowed per tensor"));
  }
  return *bytes;
}

// Adds `bytes` to `*total`, the inputs of one full batch; InvalidArgument
// naming `field` past kMaxBatchInputBytes. Each addend is at most
// kMaxTensorBytes, so the sum cannot overflow before it is refused.
absl::Status AddInputBytes(absl::string_view field, int64_t bytes,
                           int64_t* total) {
  *total += bytes;
  if (*total > kMaxBatchInputBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": the inputs of one batch come to ", *total,
                     " bytes with this one; at most ", kMaxBatchInputBytes,
                     " bytes (4 GiB) allowed for all inputs together"));
  }
  return absl::OkStatus();
}

absl::Status ValidateTensor(
    absl::string_view field, int index, absl::string_view name,
    inference::DataType data_type,
    const google::protobuf::RepeatedField<int64_t>& dims,
    int64_t max_batch_size, std::set<std::string>* names, int64_t* bytes) {
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
  const std::string dims_field = absl::StrCat(where, ".dims");
  if (absl::Status s = CheckDims(dims_field, dims); !s.ok()) return s;
  absl::StatusOr<int64_t> checked =
      CheckTensorBytes(dims_field, dims, data_type, max_batch_size);
  if (!checked.ok()) return checked.status();
  *bytes = *checked;
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
  const int64_t max_batch_size = config->max_batch_size();
  std::set<std::string> names;
  int64_t total = 0;
  for (int i = 0; i < config->input_size(); ++i) {
    const auto& input = config->input(i);
    int64_t bytes = 0;
    absl::Status s =
        ValidateTensor("input", i, input.name(), input.data_type(),
                       input.dims(), max_batch_size, &names, &bytes);
    if (s.ok())
      s = AddInputBytes(absl::StrCat("input[", i, "]"), bytes, &total);
    if (!s.ok()) return s;
  }
  names.clear();
  for (int i = 0; i < config->output_size(); ++i) {
    const auto& output = config->output(i);
    int64_t bytes = 0;
    absl::Status s =
        ValidateTensor("output", i, output.name(), output.data_type(),
                       output.dims(), max_batch_size, &names, &bytes);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status ValidateMaxBatchSize(const inference::ModelConfig& config) {
  if (config.max_batch_size() < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_batch_size: expected >= 0, got ", config.max_batch_size()));
  }
  if (config.max_batch_size() > kMaxBatchSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_batch_size: ", config.max_batch_size(),
                     " is too large; at most ", kMaxBatchSize, " allowed"));
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

// One queue policy, `where` naming it in messages.
absl::Status ValidateQueuePolicy(const std::string& where,
                                 const inference::ModelQueuePolicy& policy) {
  if (absl::Status s = CheckMicroseconds(
          absl::StrCat(where, ".default_timeout_microseconds"),
          policy.default_timeout_microseconds());
      !s.ok()) {
    return s;
  }
  if (policy.timeout_action() != inference::ModelQueuePolicy::REJECT &&
      policy.timeout_action() != inference::ModelQueuePolicy::DELAY) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ".timeout_action: expected REJECT or DELAY, got ",
                     static_cast<int>(policy.timeout_action())));
  }
  return absl::OkStatus();
}

// priority_levels, default_priority_level and priority_queue_policy, as
// Triton checks them, plus the bound on levels.
absl::Status ValidatePriorities(
    const inference::ModelDynamicBatching& dynamic) {
  const uint64_t levels = dynamic.priority_levels();
  if (levels > static_cast<uint64_t>(kMaxPriorityLevels)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "dynamic_batching.priority_levels: ", levels, " is too large; at most ",
        kMaxPriorityLevels, " allowed"));
  }
  const std::string range =
      levels == 0 ? std::string("none (priority_levels is 0)")
                  : absl::StrCat("1 to ", levels, " (priority_levels)");
  const uint64_t fallback = dynamic.default_priority_level();
  if (levels == 0 ? fallback != 0 : (fallback < 1 || fallback > levels)) {
    return absl::InvalidArgumentError(
        absl::StrCat("dynamic_batching.default_priority_level: ", fallback,
                     " is not a priority level; expected ", range));
  }
  // In key order, so that the first bad entry named is always the same.
  const std::map<uint64_t, inference::ModelQueuePolicy> policies(
      dynamic.priority_queue_policy().begin(),
      dynamic.priority_queue_policy().end());
  for (const auto& [level, policy] : policies) {
    const std::string where =
        absl::StrCat("dynamic_batching.priority_queue_policy[", level, "]");
    if (level < 1 || level > levels) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": ", level, " is not a priority level; expected ", range));
    }
    if (absl::Status s = ValidateQueuePolicy(where, policy); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status ValidateBatching(const inference::ModelConfig& config) {
  if (!config.has_dynamic_batching()) return absl::OkStatus();
  if (config.max_batch_size() == 0) {
    return absl::InvalidArgumentError(
        "dynamic_batching: requires max_batch_size >= 1 (the model must have "
        "a batch dimension)");
  }
  const auto& dynamic = config.dynamic_batching();
  absl::Status s =
      CheckMicroseconds("dynamic_batching.max_queue_delay_microseconds",
                        dynamic.max_queue_delay_microseconds());
  if (s.ok()) {
    s = ValidateQueuePolicy("dynamic_batching.default_queue_policy",
                            dynamic.default_queue_policy());
  }
  if (s.ok()) s = ValidatePriorities(dynamic);
  if (!s.ok()) return s;
  auto mode = config.parameters().find(std::string(kQueueDelayParameter));
  if (mode != config.parameters().end() &&
      mode->second.string_value() != "adaptive" &&
      mode->second.string_value() != "fixed") {
    return absl::InvalidArgumentError(
        absl::StrCat("parameters[\"", kQueueDelayParameter,
                     "\"]: expected \"adaptive\" or "
                     "\"fixed\", got \"",
                     mode->second.string_value(), "\""));
  }
  const batching::BatchSchedulerOptions options =
      SchedulerOptionsFromConfig(config, config.name());
  if (absl::Status s = ValidateBatchPolicyOptions(options.policy); !s.ok()) {
    return s;
  }
  return batching::ValidateQueueOptions(options.queue);
}

absl::Status ValidateInstanceGroups(inference::ModelConfig* config) {
  if (config->instance_group_size() == 0) {
    auto* group = config->add_instance_group();
    group->set_kind(inference::ModelInstanceGroup::KIND_CPU);
    group->set_count(1);
  }
  int64_t total = 0;
  for (int i = 0; i < config->instance_group_size(); ++i) {
    auto* group = config->mutable_instance_group(i);
    const std::string where = absl::StrCat("instance_group[", i, "]");
    if (group->count() < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ".count: expected >= 1, got ", group->count()));
    }
    if (group->count() > kMaxInstances) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ".count: ", group->count(),
                       " is too large; at most ", kMaxInstances, " allowed"));
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
      // Whether a GPU exists is the loader's question (TorchModelLoader).
      case inference::ModelInstanceGroup::KIND_GPU:
        break;
      default:
        return absl::InvalidArgumentError(absl::StrCat(
            where,
            ".kind: ", inference::ModelInstanceGroup::Kind_Name(group->kind()),
            " is not supported; expected KIND_CPU, KIND_GPU or KIND_AUTO"));
    }
    // A KIND_GPU group (or KIND_AUTO, which may become one) runs `count`
    // instances on each GPU it lists.
    const bool may_use_gpus =
        group->kind() != inference::ModelInstanceGroup::KIND_CPU;
    total += int64_t{group->count()} *
             (may_use_gpus ? std::max(1, group->gpus_size()) : 1);
    if (total > kMaxInstances) {
      return absl::InvalidArgumentError(absl::StrCat(
          "instance_group: ", total, " instances up to instance_group[", i,
          "] (each count, times the gpus a KIND_GPU or KIND_AUTO group "
          "lists); at most ",
          kMaxInstances, " allowed in all"));
    }
  }
  return absl::OkStatus();
}

// The model_warmup entries: how many, their count, and the dims a
// model_warmup input gives (they replace the input's). What warm-up
// allocates, batch_size rows of those dims, it checks itself before it
// allocates (warm_up.cc), as it checks batch_size against max_batch_size, so
// that those fail the version's load like any other warm-up failure.
absl::Status ValidateWarmup(const inference::ModelConfig& config) {
  if (config.model_warmup_size() > kMaxWarmupEntries) {
    return absl::InvalidArgumentError(absl::StrCat(
        "model_warmup: ", config.model_warmup_size(),
        " entries are too many; at most ", kMaxWarmupEntries, " allowed"));
  }
  for (int i = 0; i < config.model_warmup_size(); ++i) {
    const inference::ModelWarmup& warmup = config.model_warmup(i);
    const std::string where = absl::StrCat("model_warmup[", i, "]");
    if (warmup.count() > kMaxWarmupCount) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ".count: ", warmup.count(),
                       " is too large; at most ", kMaxWarmupCount, " allowed"));
    }
    // In key order, so that the first bad entry named is always the same.
    const std::map<std::string, inference::ModelWarmup::Input> inputs(
        warmup.inputs().begin(), warmup.inputs().end());
    for (const auto& [name, input] : inputs) {
      absl::Status s = CheckDims(
          absl::StrCat(where, ".inputs[\"", name, "\"].dims"), input.dims());
      if (!s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

// LibTorch's thread pools (torch_common.cc's ApplyThreadParameters): a count
// that parses is at most kMaxThreadCount.
absl::Status ValidateThreadParameters(const inference::ModelConfig& config) {
  for (const char* name : {"INTRA_OP_THREAD_COUNT", "INTER_OP_THREAD_COUNT"}) {
    auto it = config.parameters().find(name);
    if (it == config.parameters().end()) continue;
    int64_t threads = 0;
    if (absl::SimpleAtoi(it->second.string_value(), &threads) &&
        threads > kMaxThreadCount) {
      return absl::InvalidArgumentError(absl::StrCat(
          "parameters[\"", name, "\"]: ", threads,
          " threads are too many; at most ", kMaxThreadCount, " allowed"));
    }
  }
  return absl::OkStatus();
}

// The deepest nesting of { } < > [ ] blocks in protobuf text `text`, outside
// quoted strings and # comments, as protobuf's tokenizer reads them: a string
// ends at its closing quote, at a newline or at a NUL byte (the tokenizer
// reports an error there and reads on), a backslash escapes the next
// character unless that is a newline or NUL; a comment ends at a newline or
// NUL. A closer without an opener counts nothing (the parser stops there).
// Refused past kMaxConfigNesting, naming the line where it was first
// exceeded.
absl::Status CheckNesting(absl::string_view text, absl::string_view what) {
  int64_t depth = 0;
  int64_t deepest = 0;
  int64_t line = 1;
  int64_t first_line_too_deep = 0;
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    const char c = text[i];
    if (c == '#') {
      while (i < n && text[i] != '\n' && text[i] != '\0') ++i;
      continue;
    }
    if (c == '"' || c == '\'') {
      for (++i; i < n && text[i] != c && text[i] != '\n' && text[i] != '\0';
           ++i) {
        if (text[i] == '\\' && i + 1 < n && text[i + 1] != '\n' &&
            text[i + 1] != '\0') {
          ++i;
        }
      }
      if (i < n && text[i] == c) ++i;
      continue;
    }
    if (c == '\n') {
      ++line;
    } else if (c == '{' || c == '<' || c == '[') {
      if (++depth > deepest) deepest = depth;
      if (depth > kMaxConfigNesting && first_line_too_deep == 0) {
        first_line_too_deep = line;
      }
    } else if ((c == '}' || c == '>' || c == ']') && depth > 0) {
      --depth;
    }
    ++i;
  }
  if (deepest > kMaxConfigNesting) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": nested ", deepest, " levels deep at line ",
                     first_line_too_deep, "; at most ", kMaxConfigNesting,
                     " allowed (blocks { }, < > and [ ] inside each other)"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ParsedConfig> ParseModelConfig(absl::string_view text) {
  // Checked before protobuf sees the text: its parser recurses once per
  // level, also through unknown fields it skips.
  if (text.size() > kMaxConfigBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("config.pbtxt: ", text.size(), " bytes; at most ",
                     kMaxConfigBytes, " allowed"));
  }
  if (absl::Status s = CheckNesting(text, "config.pbtxt"); !s.ok()) return s;
  ParsedConfig parsed;
  CollectingErrors errors;
  google::protobuf::TextFormat::Parser parser;
  parser.AllowUnknownField(true);
  parser.AllowUnknownExtension(true);
  parser.SetRecursionLimit(kMaxConfigNesting);
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(std::string(text), &parsed.config)) {
    return absl::InvalidArgumentError(
        absl::StrCat("config.pbtxt: ", errors.error()));
  }
  parsed.ignored_fields = std::move(errors.warnings());
  return parsed;
}

absl::StatusOr<inference::ModelConfig> ParseModelConfigJson(
    absl::string_view json, absl::string_view directory_name) {
  constexpr absl::string_view kWhat = "parameters.config";
  if (json.size() > kMaxConfigBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(kWhat, ": ", json.size(), " bytes; at most ",
                     kMaxConfigBytes, " allowed"));
  }
  if (absl::Status s = CheckNesting(json, kWhat); !s.ok()) return s;
  inference::ModelConfig config;
  // Unknown fields are refused, not skipped: the caller asked for this
  // configuration and must learn what of it would not take effect.
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const auto parsed = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), &config,
      options);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(kWhat, " is not a model configuration in JSON: ",
                     ClientText(std::string(parsed.message()))));
  }
  if (absl::Status s = ValidateModelConfig(directory_name, &config); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(kWhat, ": ", s.message()));
  }
  return config;
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
  if (absl::Status s = ValidateMaxBatchSize(*config); !s.ok()) return s;
  if (absl::Status s = ValidateTensors(config); !s.ok()) return s;
  if (absl::Status s = ValidateBatching(*config); !s.ok()) return s;
  if (absl::Status s = ValidateInstanceGroups(config); !s.ok()) return s;
  if (absl::Status s = ValidateWarmup(*config); !s.ok()) return s;
  return ValidateThreadParameters(*config);
}

absl::StatusOr<ParsedConfig> ReadModelConfig(const std::string& path,
                                             absl::string_view directory_name) {
  absl::StatusOr<std::string> text = ReadFileAtMost(path, kMaxConfigBytes);
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
  absl::StatusOr<std::string> text = ReadFileAtMost(path, kMaxLabelFileBytes);
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

absl::StatusOr<std::string> ReadFileAtMost(const std::string& path,
                                           size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
  const auto too_large = [&](absl::string_view size) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": ", size, " bytes; at most ", max_bytes, " allowed"));
  };
  // A regular file says its size before it is read; a pipe or a device
  // (e.g. /dev/zero) does not, and is read only up to the limit.
  std::error_code ec;
  const std::uintmax_t size = std::filesystem::file_size(path, ec);
  if (!ec && size > max_bytes) return too_large(absl::StrCat(size));
  std::string contents;
  char buffer[1 << 16];
  while (contents.size() <= max_bytes && in) {
    const size_t want =
        std::min(sizeof(buffer), max_bytes + 1 - contents.size());
    in.read(buffer, static_cast<std::streamsize>(want));
    contents.append(buffer, static_cast<size_t>(in.gcount()));
  }
  if (in.bad()) return absl::InternalError(absl::StrCat(path, ": read failed"));
  if (contents.size() > max_bytes) {
    return too_large(absl::StrCat("more than ", max_bytes));
  }
  return contents;
}

}  // namespace inferd
