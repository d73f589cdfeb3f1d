#include "model_store/backends/torchscript_model.h"

#include <torch/script.h>

#include <exception>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/logging.h"
#include "model_store/backends/archive_check.h"
#include "model_store/backends/torch_common.h"
#include "model_store/backends/torch_loader.h"

namespace inferd::torch_backend {
namespace {

// One execution instance: its own copy of the module, where it runs.
struct Instance {
  torch::jit::Module module;
  Placement place;
};

class TorchScriptModel final : public Model {
 public:
  TorchScriptModel(std::vector<Instance> instances,
                   std::vector<int> input_positions,
                   std::vector<int> output_slots,
                   std::vector<at::ScalarType> input_types)
      : instances_(std::move(instances)),
        input_positions_(std::move(input_positions)),
        output_slots_(std::move(output_slots)),
        input_types_(std::move(input_types)) {}

  int instance_count() const override {
    return static_cast<int>(instances_.size());
  }

  std::string instance_device(int instance) const override {
    return instances_[instance].place.device().str();
  }

  absl::StatusOr<std::vector<Tensor>> Execute(
      int instance, const std::vector<Tensor>& inputs) override {
    Instance& target = instances_[instance];
    try {
      ForwardScope scope(target.place);
      std::vector<at::Tensor> tensors = WrapInputs(
          inputs, input_types_, input_positions_, target.place.device());
      std::vector<c10::IValue> args(tensors.begin(), tensors.end());
      c10::IValue result = target.module.forward(std::move(args));
      return CollectOutputs(result);
    } catch (const std::exception& e) {
      return absl::InternalError(
          absl::StrCat("forward() threw: ", ErrorText(e)));
    }
  }

 private:
  absl::StatusOr<std::vector<Tensor>> CollectOutputs(
      const c10::IValue& result) {
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
      return absl::InternalError(
          absl::StrCat("forward() returned ", result.tagKind(),
                       "; expected a tensor or a tuple of tensors"));
    }
    std::vector<Tensor> outputs;
    for (int slot : output_slots_) {
      if (slot >= static_cast<int>(returned.size())) {
        return absl::InternalError(
            absl::StrCat("forward() returned ", returned.size(),
                         " tensors; the config needs output index ", slot));
      }
      absl::StatusOr<Tensor> out = OwnOutput(returned[slot]);
      if (!out.ok()) return out.status();
      outputs.push_back(std::move(*out));
    }
    return outputs;
  }

  // Instance i is used by worker i alone.
  std::vector<Instance> instances_;
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
  slots.reserve(config.output_size());
  for (int i = 0; i < config.output_size(); ++i) {
    slots.push_back(IndexSuffix(config.output(i).name()).value_or(i));
  }
  return slots;
}

// What went wrong when torch::jit::load refused `file`, in the user's terms.
std::string LoadFailure(const std::string& file, const std::string& cause) {
  if (absl::StrContains(cause, "Unknown builtin op") ||
      absl::StrContains(cause, "Unknown type name") ||
      absl::StrContains(cause, "unknown builtin op")) {
    return absl::StrCat(
        file, " uses operators this LibTorch (", TorchVersion(),
        ") lacks; export it with the same PyTorch version: ", cause);
  }
  return absl::StrCat(file, ": not a loadable TorchScript archive: ", cause);
}

absl::StatusOr<torch::jit::Module> LoadModule(const std::string& path,
                                              c10::Device device) {
  torch::jit::Module module;
  try {
    module = torch::jit::load(path, device);
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(LoadFailure(path, ErrorText(e)));
  }
  module.eval();
  try {
    return torch::jit::freeze(module);
  } catch (const std::exception& e) {
    // Freezing is an optimisation; a module it cannot handle still runs.
    LogWarning(path, ": not frozen (", ErrorText(e), ")");
    return module;
  }
}

absl::StatusOr<std::vector<Instance>> LoadInstances(
    const inference::ModelConfig& config, const std::string& path) {
  absl::StatusOr<std::vector<c10::Device>> devices =
      ResolveDevices(config, DefaultAutoKind());
  if (!devices.ok()) return devices.status();
  std::vector<Instance> instances;
  for (const c10::Device& device : *devices) {
    absl::StatusOr<torch::jit::Module> module = LoadModule(path, device);
    if (!module.ok()) return module.status();
    instances.push_back(Instance{std::move(*module), Placement(device)});
  }
  return instances;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Model>> LoadTorchScriptModel(
    const inference::ModelConfig& config, const std::string& version_dir) {
  absl::StatusOr<std::vector<at::ScalarType>> input_types = InputTypes(config);
  if (!input_types.ok()) return input_types.status();
  ApplyThreadParameters(config);
  absl::StatusOr<std::string> file =
      ModelFilePath(config, version_dir, "model.pt");
  if (!file.ok()) return file.status();
  const std::string& path = *file;
  // Before LibTorch allocates what the archive declares.
  if (absl::Status bomb = CheckArchiveInflation(path); !bomb.ok()) return bomb;
  absl::StatusOr<std::vector<Instance>> instances = LoadInstances(config, path);
  if (!instances.ok()) return instances.status();
  absl::StatusOr<std::vector<int>> positions;
  try {
    positions = MapInputs(config, instances->front().module);
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": has no usable forward(): ", ErrorText(e)));
  }
  if (!positions.ok()) return positions.status();
  return std::make_unique<TorchScriptModel>(
      std::move(*instances), std::move(*positions), MapOutputs(config),
      std::move(*input_types));
}

}  // namespace inferd::torch_backend
