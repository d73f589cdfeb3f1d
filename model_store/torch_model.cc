#include "model_store/torch_model.h"

#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <torch/script.h>
#ifdef INFERD_WITH_CUDA
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

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
    case inference::TYPE_BOOL:
      return at::kBool;
    case inference::TYPE_UINT8:
      return at::kByte;
    case inference::TYPE_INT8:
      return at::kChar;
    case inference::TYPE_INT16:
      return at::kShort;
    case inference::TYPE_INT32:
      return at::kInt;
    case inference::TYPE_INT64:
      return at::kLong;
    case inference::TYPE_FP16:
      return at::kHalf;
    case inference::TYPE_FP32:
      return at::kFloat;
    case inference::TYPE_FP64:
      return at::kDouble;
    case inference::TYPE_BF16:
      return at::kBFloat16;
    default:
      return std::nullopt;
  }
}

inference::DataType FromScalarType(at::ScalarType type) {
  switch (type) {
    case at::kBool:
      return inference::TYPE_BOOL;
    case at::kByte:
      return inference::TYPE_UINT8;
    case at::kChar:
      return inference::TYPE_INT8;
    case at::kShort:
      return inference::TYPE_INT16;
    case at::kInt:
      return inference::TYPE_INT32;
    case at::kLong:
      return inference::TYPE_INT64;
    case at::kHalf:
      return inference::TYPE_FP16;
    case at::kFloat:
      return inference::TYPE_FP32;
    case at::kDouble:
      return inference::TYPE_FP64;
    case at::kBFloat16:
      return inference::TYPE_BF16;
    default:
      return inference::TYPE_INVALID;
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

// One execution instance: its own copy of the module, on its device, and on
// a GPU its own CUDA stream.
struct TorchInstance {
  torch::jit::Module module;
  c10::Device device = c10::Device(c10::kCPU);
#ifdef INFERD_WITH_CUDA
  std::optional<c10::cuda::CUDAStream> stream;
#endif
};

class TorchModel final : public Model {
 public:
  TorchModel(std::string name, std::vector<TorchInstance> instances,
             std::vector<int> input_positions, std::vector<int> output_slots,
             std::vector<at::ScalarType> input_types)
      : name_(std::move(name)),
        instances_(std::move(instances)),
        input_positions_(std::move(input_positions)),
        output_slots_(std::move(output_slots)),
        input_types_(std::move(input_types)) {}

  int instance_count() const override {
    return static_cast<int>(instances_.size());
  }

  absl::StatusOr<std::vector<Tensor>> Execute(
      int instance, const std::vector<Tensor>& inputs) override {
    TorchInstance& target = instances_[instance];
    try {
      c10::InferenceMode inference_mode;
#ifdef INFERD_WITH_CUDA
      // Copies in, the forward pass and copies out all go on this instance's
      // stream; the blocking copy out waits for this stream alone.
      std::optional<c10::cuda::CUDAStreamGuard> on_stream;
      if (target.stream) on_stream.emplace(*target.stream);
#endif
      std::vector<c10::IValue> args(input_positions_.size());
      for (size_t i = 0; i < inputs.size(); ++i) {
        // The model only reads its inputs; from_blob wraps the request's
        // bytes without copying them (on a GPU: one copy to the device).
        at::Tensor tensor =
            torch::from_blob(const_cast<char*>(inputs[i].data), inputs[i].shape,
                             torch::TensorOptions().dtype(input_types_[i]));
        if (!target.device.is_cpu()) {
          tensor = tensor.to(target.device, /*non_blocking=*/true);
        }
        args[input_positions_[i]] = std::move(tensor);
      }
      c10::IValue result = target.module.forward(std::move(args));
      return CollectOutputs(result);
    } catch (const std::exception& e) {
      return absl::InternalError(absl::StrCat("forward() threw: ", e.what()));
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
  // Instance i is used by worker i alone.
  std::vector<TorchInstance> instances_;
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

absl::StatusOr<torch::jit::Module> LoadModule(const std::string& path,
                                              c10::Device device) {
  try {
    torch::jit::Module module = torch::jit::load(path, device);
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

#ifdef INFERD_WITH_CUDA
constexpr bool kBuiltWithCuda = true;
#else
constexpr bool kBuiltWithCuda = false;
#endif

// The GPUs of a KIND_GPU group: its `gpus`, or every device when empty.
absl::StatusOr<std::vector<int>> GroupGpus(
    const inference::ModelInstanceGroup& group, const std::string& where) {
  if (!kBuiltWithCuda) {
    return absl::InvalidArgumentError(absl::StrCat(
        where,
        ".kind: KIND_GPU requested, but this build of inferd has no CUDA "
        "support (LibTorch without CUDA); use KIND_CPU"));
  }
  const int devices = static_cast<int>(torch::cuda::device_count());
  if (devices == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, ".kind: KIND_GPU requested, but no CUDA device is available"));
  }
  std::vector<int> gpus(group.gpus().begin(), group.gpus().end());
  if (gpus.empty()) {
    for (int d = 0; d < devices; ++d) gpus.push_back(d);
  }
  for (int gpu : gpus) {
    if (gpu < 0 || gpu >= devices) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ".gpus: GPU ", gpu, " does not exist (", devices,
                       " CUDA devices)"));
    }
  }
  return gpus;
}

// One device per execution instance, from the config's instance groups:
// KIND_CPU gives `count` CPU instances, KIND_GPU `count` per listed GPU,
// KIND_AUTO is KIND_GPU where CUDA is available and KIND_CPU elsewhere.
absl::StatusOr<std::vector<c10::Device>> ResolveDevices(
    const inference::ModelConfig& config) {
  std::vector<c10::Device> devices;
  for (int i = 0; i < config.instance_group_size(); ++i) {
    const auto& group = config.instance_group(i);
    const int count = std::max(1, group.count());
    const bool gpu =
        group.kind() == inference::ModelInstanceGroup::KIND_GPU ||
        (group.kind() == inference::ModelInstanceGroup::KIND_AUTO &&
         kBuiltWithCuda && torch::cuda::is_available());
    if (!gpu) {
      devices.insert(devices.end(), count, c10::Device(c10::kCPU));
      continue;
    }
    absl::StatusOr<std::vector<int>> gpus =
        GroupGpus(group, absl::StrCat("instance_group[", i, "]"));
    if (!gpus.ok()) return gpus.status();
    for (int g : *gpus) {
      devices.insert(devices.end(), count,
                     c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(g)));
    }
  }
  if (devices.empty()) devices.emplace_back(c10::kCPU);
  return devices;
}

absl::StatusOr<std::vector<TorchInstance>> LoadInstances(
    const inference::ModelConfig& config, const std::string& path) {
  absl::StatusOr<std::vector<c10::Device>> devices = ResolveDevices(config);
  if (!devices.ok()) return devices.status();
  std::vector<TorchInstance> instances;
  for (const c10::Device& device : *devices) {
    absl::StatusOr<torch::jit::Module> module = LoadModule(path, device);
    if (!module.ok()) return module.status();
    TorchInstance instance{std::move(*module), device};
#ifdef INFERD_WITH_CUDA
    if (device.is_cuda()) {
      instance.stream = c10::cuda::getStreamFromPool(/*isHighPriority=*/false,
                                                     device.index());
    }
#endif
    instances.push_back(std::move(instance));
  }
  return instances;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Model>> TorchModelLoader::Load(
    const inference::ModelConfig& config, const std::string& version_dir) {
  std::vector<at::ScalarType> input_types;
  for (int i = 0; i < config.input_size(); ++i) {
    std::optional<at::ScalarType> type =
        ToScalarType(config.input(i).data_type());
    if (!type) {
      return absl::InvalidArgumentError(absl::StrCat(
          "input[", i, "].data_type: ", ConfigName(config.input(i).data_type()),
          " has no LibTorch equivalent"));
    }
    input_types.push_back(*type);
  }
  ApplyThreadParameters(config);
  const std::string file = config.default_model_filename().empty()
                               ? "model.pt"
                               : config.default_model_filename();
  const std::string path = absl::StrCat(version_dir, "/", file);
  absl::StatusOr<std::vector<TorchInstance>> instances =
      LoadInstances(config, path);
  if (!instances.ok()) return instances.status();
  absl::StatusOr<std::vector<int>> positions;
  try {
    positions = MapInputs(config, instances->front().module);
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": has no usable forward(): ", e.what()));
  }
  if (!positions.ok()) return positions.status();
  return std::make_unique<TorchModel>(config.name(), std::move(*instances),
                                      std::move(*positions), MapOutputs(config),
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
