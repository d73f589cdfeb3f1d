#include "model_store/warm_up.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "model_store/data_type.h"
#include "model_store/model_config.h"
#include "model_store/output_encoding.h"
#include "model_store/shape.h"

namespace inferd {
namespace {

using WarmupInput = inference::ModelWarmup::Input;

// One input of a warm-up batch, sized but not yet allocated.
struct PlannedInput {
  const inference::ModelInput* input = nullptr;
  const WarmupInput* spec = nullptr;  // null: zeros of the input's dims
  std::vector<int64_t> shape;
  int64_t bytes = 0;
};

// Sizes one batch of `rows` rows (when batched) for every config input, with
// `specs[i]` (may be null) for input i: its dims (a model_warmup input's own
// dims, else the input's, variable dims as 1), and checks them against
// kMaxTensorBytes each and kMaxBatchInputBytes together. Nothing is allocated
// here, so a batch past the limits is refused before any of it is:
// ValidateModelConfig refuses such configs, but a caller may pass any `rows`.
absl::StatusOr<std::vector<PlannedInput>> PlanInputs(
    const inference::ModelConfig& config, int64_t rows,
    const std::vector<const WarmupInput*>& specs, const std::string& where) {
  const bool batched = config.max_batch_size() > 0;
  std::vector<PlannedInput> plan;
  int64_t total = 0;
  for (int i = 0; i < config.input_size(); ++i) {
    PlannedInput planned;
    planned.input = &config.input(i);
    planned.spec = specs[i];
    const auto& dims = planned.spec != nullptr && planned.spec->dims_size() > 0
                           ? planned.spec->dims()
                           : planned.input->dims();
    planned.shape = SmallestShape(dims, batched, rows);
    const inference::DataType type = planned.input->data_type();
    const std::optional<int64_t> bytes =
        ByteCount(planned.shape, ElementSize(type));
    if (!bytes || *bytes > kMaxTensorBytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": input \"", planned.input->name(), "\" of shape ",
          ShapeString(planned.shape), " and type ", ConfigName(type),
          " would take ", bytes ? absl::StrCat(*bytes) : "more than 2^63",
          " bytes; at most ", kMaxTensorBytes, " allowed per tensor"));
    }
    // Both at most kMaxBatchInputBytes + kMaxTensorBytes: no overflow.
    total += *bytes;
    if (total > kMaxBatchInputBytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": the inputs of one batch would take ", total,
          " bytes with input \"", planned.input->name(), "\"; at most ",
          kMaxBatchInputBytes, " allowed for all inputs together"));
    }
    planned.bytes = *bytes;
    plan.push_back(std::move(planned));
  }
  return plan;
}

// The tensor `planned` describes: zeros, or random bytes for random_data.
Tensor Allocate(const PlannedInput& planned, std::mt19937* rng) {
  Tensor tensor;
  tensor.dtype = planned.input->data_type();
  tensor.shape = planned.shape;
  auto data =
      std::make_shared<std::string>(static_cast<size_t>(planned.bytes), '\0');
  if (planned.spec != nullptr && planned.spec->random_data()) {
    // Small non-negative integers are valid for every type's bit pattern
    // except floats, where they are tiny subnormals: fine for a warm-up.
    std::uniform_int_distribution<int> byte(0, 1);
    for (char& c : *data) c = static_cast<char>(byte(*rng));
  }
  tensor.data = data->data();
  tensor.byte_size = data->size();
  tensor.owner = data;
  return tensor;
}

absl::StatusOr<std::vector<Tensor>> MakeInputs(
    const inference::ModelConfig& config, int64_t rows,
    const std::vector<const WarmupInput*>& specs, const std::string& where,
    std::mt19937* rng) {
  absl::StatusOr<std::vector<PlannedInput>> plan =
      PlanInputs(config, rows, specs, where);
  if (!plan.ok()) return plan.status();
  std::vector<Tensor> inputs;
  inputs.reserve(plan->size());
  for (const PlannedInput& planned : *plan) {
    inputs.push_back(Allocate(planned, rng));
  }
  return inputs;
}

absl::Status RunOnEveryInstance(const inference::ModelConfig& config,
                                Model* model, const std::vector<Tensor>& inputs,
                                int64_t rows, const std::string& what) {
  for (int instance = 0; instance < model->instance_count(); ++instance) {
    absl::StatusOr<std::vector<Tensor>> outputs =
        model->Execute(instance, inputs);
    if (!outputs.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " failed: ", outputs.status().message()));
    }
    if (absl::Status s = CheckOutputs(config, *outputs, rows); !s.ok()) {
      return absl::InvalidArgumentError(s.message());
    }
  }
  return absl::OkStatus();
}

absl::Status RunWarmupEntry(const inference::ModelConfig& config, Model* model,
                            int index, std::mt19937* rng) {
  const inference::ModelWarmup& warmup = config.model_warmup(index);
  const std::string where = absl::StrCat("model_warmup[", index, "]");
  const bool batched = config.max_batch_size() > 0;
  const int64_t rows = std::max<int64_t>(1, warmup.batch_size());
  if (batched && rows > config.max_batch_size()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ".batch_size: ", rows,
                                                   " exceeds max_batch_size ",
                                                   config.max_batch_size()));
  }
  std::vector<const WarmupInput*> specs;
  for (const auto& input : config.input()) {
    auto it = warmup.inputs().find(input.name());
    if (it == warmup.inputs().end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ".inputs: no entry for input \"", input.name(), "\""));
    }
    if (it->second.input_data_type_case() == WarmupInput::kInputDataFile) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ".inputs[\"", input.name(),
          "\"].input_data_file: not supported; use zero_data or random_data"));
    }
    specs.push_back(&it->second);
  }
  absl::StatusOr<std::vector<Tensor>> inputs =
      MakeInputs(config, rows, specs, where, rng);
  if (!inputs.ok()) return inputs.status();
  for (uint32_t run = 0; run < std::max<uint32_t>(1, warmup.count()); ++run) {
    absl::Status s = RunOnEveryInstance(config, model, *inputs, rows,
                                        absl::StrCat("warm-up ", where));
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<Tensor>> ZeroInputs(
    const inference::ModelConfig& config, int64_t rows) {
  return MakeInputs(
      config, rows, std::vector<const WarmupInput*>(config.input_size()),
      absl::StrCat(rows, rows == 1 ? " row" : " rows", " of zeros"), nullptr);
}

absl::Status WarmUp(const inference::ModelConfig& config, Model* model) {
  if (config.model_warmup_size() == 0) {
    const std::string what = "warm-up with zero inputs";
    absl::StatusOr<std::vector<Tensor>> inputs = ZeroInputs(config, 1);
    if (!inputs.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": ", inputs.status().message()));
    }
    return RunOnEveryInstance(config, model, *inputs, 1, what);
  }
  // The same random inputs on every load, so a failing warm-up reproduces.
  std::mt19937 rng(0);  // NOLINT(cert-msc51-cpp)
  for (int i = 0; i < config.model_warmup_size(); ++i) {
    absl::Status s = RunWarmupEntry(config, model, i, &rng);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace inferd
