#include "model_store/torch_model.h"

#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <torch/script.h>

#include <exception>
#include <optional>
#include <regex>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/logging.h"
#include "model_store/data_type.h"

namespace inferd {
namespace {

std::optional<at::ScalarType> ToScalarType(inference::DataType type) {
  switch (type) {
    case inference::TYPE_BOOL: return at::kBool;
    case inference::TYPE_UINT8: return at::kByte;
    case inference::TYPE_INT8: return at::kChar;
    case inference::TYPE_INT16: return at::kShort;
    case inference::TYPE_INT32: return at::kInt;
    case inference::TYPE_INT64: return at::kLong;
    case inference::TYPE_FP16: return at::kHalf;
    case inference::TYPE_FP32: return at::kFloat;
    case inference::TYPE_FP64: return at::kDouble;
    case inference::TYPE_BF16: return at::kBFloat16;
    default: return std::nullopt;
  }
}

inference::DataType FromScalarType(at::ScalarType type) {
  switch (type) {
    case at::kBool: return inference::TYPE_BOOL;
    case at::kByte: return inference::TYPE_UINT8;
    case at::kChar: return inference::TYPE_INT8;
    case at::kShort: return inference::TYPE_INT16;
    case at::kInt: return inference::TYPE_INT32;
    case at::kLong: return inference::TYPE_INT64;
    case at::kHalf: return inference::TYPE_FP16;
    case at::kFloat: return inference::TYPE_FP32;
    case at::kDouble: return inference::TYPE_FP64;
    case at::kBFloat16: return inference::TYPE_BF16;
    default: return inference::TYPE_INVALID;
  }
}

// The k of a "NAME__k" tensor name, if it has that form.
std::optional<int> IndexSuffix(const std::string& name) {
  static const std::regex kPattern(".*__([0-9]+)");
  std::smatch match;
  int index = 0;
  if (std::regex_match(name, match, kPattern) &&
      absl::SimpleAtoi(match[1].str(), &index)) {
    return index;
  }
  return std::nullopt;
}

class TorchModel final : public Model {
 public:
  TorchModel(std::string name, std::vector<torch::jit::Module> modules,
             std::vector<int> input_positions, std::vector<int> output_slots,
             std::vector<at::ScalarType> input_types)
      : name_(std::move(name)),
        modules_(std::move(modules)),
        input_positions_(std::move(input_positions)),
        output_slots_(std::move(output_slots)),
        input_types_(std::move(input_types)) {}

  absl::StatusOr<std::vector<Tensor>> Execute(
      int instance, const std::vector<Tensor>& inputs) override {
    try {
      c10::InferenceMode inference_mode;
      std::vector<c10::IValue> args(input_positions_.size());
      for (size_t i = 0; i < inputs.size(); ++i) {
        // The model only reads its inputs; from_blob wraps the request's
        // bytes without copying them.
        args[input_positions_[i]] = torch::from_blob(
            const_cast<char*>(inputs[i].data), inputs[i].shape,
            torch::TensorOptions().dtype(input_types_[i]));
      }
      c10::IValue result = modules_[instance].forward(std::move(args));
      return CollectOutputs(result);
    } catch (const std::exception& e) {
      return absl::InternalError(absl::StrCat("forward() threw: ", e.what()));
    }
  }

 private:
  absl::StatusOr<std::vector<Tensor>> CollectOutputs(const c10::IValue& result) {
    std::vector<at::Tensor> returned;
    if (result.isTensor()) {
      returned.push_back(result.toTensor());
    } else if (result.isTuple()) {
      for (const c10::IValue& v : result.toTupleRef().elements()) {
        if (!v.isTensor()) {
          return absl::InternalError(
              "forward() returned a tuple with a non-tensor element");
        }
        returned.push_back(v.toTensor());
      }
    } else if (result.isTensorList()) {
      for (const at::Tensor& t : result.toTensorVector()) returned.push_back(t);
    } else {
      return absl::InternalError(absl::StrCat(
          "forward() returned ", result.tagKind(),
          "; expected a tensor or a tuple of tensors"));
    }
    std::vector<Tensor> outputs;
    for (int slot : output_slots_) {
      if (slot >= static_cast<int>(returned.size())) {
        return absl::InternalError(
            absl::StrCat("forward() returned ", returned.size(),
                         " tensors; the config needs output index ", slot));
      }
      auto owned = std::make_shared<at::Tensor>(
          returned[slot].to(at::kCPU).contiguous());
      Tensor out;
      out.dtype = FromScalarType(owned->scalar_type());
      out.shape.assign(owned->sizes().begin(), owned->sizes().end());
      out.data = static_cast<const char*>(owned->data_ptr());
      out.byte_size = owned->nbytes();
      out.owner = std::move(owned);
      outputs.push_back(std::move(out));
    }
    return outputs;
  }

  const std::string name_;
  // One module per execution instance; instance i is used by one worker.
  std::vector<torch::jit::Module> modules_;
  // forward() argument position (self excluded) of each config input.
  const std::vector<int> input_positions_;
  // Index in forward()'s returned tuple of each config output.
  const std::vector<int> output_slots_;
  const std::vector<at::ScalarType> input_types_;
};

// Maps each config input to a forward() argument position.
absl::StatusOr<std::vector<int>> MapInputs(const inference::ModelConfig& config,
                                           const torch::jit::Module& module) {
  const auto& arguments =
      module.get_method("forward").function().getSchema().arguments();
  std::vector<std::string> names;  // without `self`
  for (size_t i = 1; i < arguments.size(); ++i) {
    names.push_back(arguments[i].name());
  }
  std::vector<int> positions;
  std::vector<bool> used(names.size(), false);
  for (int i = 0; i < config.input_size(); ++i) {
    const std::string& name = config.input(i).name();
    int position = -1;
    for (size_t a = 0; a < names.size(); ++a) {
      if (names[a] == name) position = static_cast<int>(a);
    }
    if (position < 0) position = IndexSuffix(name).value_or(-1);
    if (position < 0 || position >= static_cast<int>(names.size()) ||
        used[position]) {
      return absl::InvalidArgumentError(absl::StrCat(
          "input[", i, "].name: \"", name,
          "\" matches no argument of the model's forward(",
          absl::StrJoin(names, ", "), "); use the argument name or NAME__k"));
    }
    used[position] = true;
    positions.push_back(position);
  }
  // The arguments given must be a prefix of forward()'s; the rest need
  // defaults.
  for (size_t a = 0; a < names.size(); ++a) {
    if (!used[a] && (a < positions.size() ||
                     !arguments[a + 1].default_value().has_value())) {
      return absl::InvalidArgumentError(
          absl::StrCat("input: forward() argument \"", names[a],
                       "\" has no matching input in the config"));
    }
  }
  return positions;
}

std::vector<int> MapOutputs(const inference::ModelConfig& config) {
  std::vector<int> slots;
  for (int i = 0; i < config.output_size(); ++i) {
    slots.push_back(IndexSuffix(config.output(i).name()).value_or(i));
  }
  return slots;
}

absl::StatusOr<torch::jit::Module> LoadModule(const std::string& path) {
  try {
    torch::jit::Module module = torch::jit::load(path, torch::kCPU);
    module.eval();
    try {
      return torch::jit::freeze(module);
    } catch (const std::exception& e) {
      // Freezing is an optimisation; a module it cannot handle still runs.
      LogWarning(path, ": not frozen (", e.what(), ")");
      return module;
    }
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not a loadable TorchScript archive: ", e.what()));
  }
}

void ApplyThreadParameters(const inference::ModelConfig& config) {
  const auto& params = config.parameters();
  int intra = 0;
  int inter = 0;
  if (auto it = params.find("INTRA_OP_THREAD_COUNT"); it != params.end()) {
    (void)absl::SimpleAtoi(it->second.string_value(), &intra);
  }
  if (auto it = params.find("INTER_OP_THREAD_COUNT"); it != params.end()) {
    (void)absl::SimpleAtoi(it->second.string_value(), &inter);
  }
  if (intra > 0 || inter > 0) ConfigureTorchThreads(intra, inter);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Model>> TorchModelLoader::Load(
    const inference::ModelConfig& config, const std::string& version_dir,
    int instances) {
  std::vector<at::ScalarType> input_types;
  for (int i = 0; i < config.input_size(); ++i) {
    std::optional<at::ScalarType> type =
        ToScalarType(config.input(i).data_type());
    if (!type) {
      return absl::InvalidArgumentError(absl::StrCat(
          "input[", i, "].data_type: ",
          ConfigName(config.input(i).data_type()),
          " has no LibTorch equivalent"));
    }
    input_types.push_back(*type);
  }
  ApplyThreadParameters(config);
  const std::string file = config.default_model_filename().empty()
                               ? "model.pt"
                               : config.default_model_filename();
  const std::string path = absl::StrCat(version_dir, "/", file);
  std::vector<torch::jit::Module> modules;
  for (int i = 0; i < std::max(1, instances); ++i) {
    absl::StatusOr<torch::jit::Module> module = LoadModule(path);
    if (!module.ok()) return module.status();
    modules.push_back(std::move(*module));
  }
  absl::StatusOr<std::vector<int>> positions;
  try {
    positions = MapInputs(config, modules.front());
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": has no usable forward(): ", e.what()));
  }
  if (!positions.ok()) return positions.status();
  return std::make_unique<TorchModel>(config.name(), std::move(modules),
                                      std::move(*positions),
                                      MapOutputs(config),
                                      std::move(input_types));
}

void ConfigureTorchThreads(int intra_op, int inter_op) {
  if (intra_op > 0) at::set_num_threads(intra_op);
  if (inter_op > 0) {
    try {
      at::set_num_interop_threads(inter_op);
    } catch (const std::exception& e) {
      LogWarning("INTER_OP_THREAD_COUNT ignored: ", e.what());
    }
  }
}

bool TorchHasCuda() { return torch::cuda::is_available(); }

}  // namespace inferd
