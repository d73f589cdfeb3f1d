#include "model_store/warm_up.h"

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "model_store/data_type.h"
#include "model_store/output_encoding.h"
#include "model_store/shape.h"

namespace inferd {
namespace {

using WarmupInput = inference::ModelWarmup::Input;

// One warm-up input: `rows` rows (when batched) of `dims`, zeros or random.
Tensor MakeInput(const inference::ModelInput& input, bool batched, int64_t rows,
                 const WarmupInput* spec, std::mt19937* rng) {
  Tensor tensor;
  tensor.dtype = input.data_type();
  if (batched) tensor.shape.push_back(rows);
  const auto& dims =
      spec != nullptr && spec->dims_size() > 0 ? spec->dims() : input.dims();
  for (int64_t dim : dims) tensor.shape.push_back(dim == -1 ? 1 : dim);
  // Config dims and batch sizes were validated; the count fits.
  auto bytes = std::make_shared<std::string>(
      ByteCount(tensor.shape, ElementSize(input.data_type())).value_or(0),
      '\0');
  if (spec != nullptr && spec->random_data()) {
    // Small non-negative integers are valid for every type's bit pattern
    // except floats, where they are tiny subnormals: fine for a warm-up.
    std::uniform_int_distribution<int> byte(0, 1);
    for (char& c : *bytes) c = static_cast<char>(byte(*rng));
  }
  tensor.data = bytes->data();
  tensor.byte_size = bytes->size();
  tensor.owner = bytes;
  return tensor;
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
  std::vector<Tensor> inputs;
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
    inputs.push_back(MakeInput(input, batched, rows, &it->second, rng));
  }
  for (uint32_t run = 0; run < std::max<uint32_t>(1, warmup.count()); ++run) {
    absl::Status s = RunOnEveryInstance(config, model, inputs, rows,
                                        absl::StrCat("warm-up ", where));
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace

std::vector<Tensor> ZeroInputs(const inference::ModelConfig& config,
                               int64_t rows) {
  std::vector<Tensor> inputs;
  for (const auto& input : config.input()) {
    inputs.push_back(
        MakeInput(input, config.max_batch_size() > 0, rows, nullptr, nullptr));
  }
  return inputs;
}

absl::Status WarmUp(const inference::ModelConfig& config, Model* model) {
  if (config.model_warmup_size() == 0) {
    return RunOnEveryInstance(config, model, ZeroInputs(config, 1), 1,
                              "warm-up with zero inputs");
  }
  std::mt19937 rng(0);
  for (int i = 0; i < config.model_warmup_size(); ++i) {
    absl::Status s = RunWarmupEntry(config, model, i, &rng);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace inferd
