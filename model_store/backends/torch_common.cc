#include "model_store/backends/torch_common.h"

#include <ATen/Parallel.h>
#include <c10/util/Exception.h>
#include <torch/cuda.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <regex>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "model_store/backends/torch_loader.h"
#include "model_store/data_type.h"
#include "model_store/repository_paths.h"

namespace inferd::torch_backend {
namespace {

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
  // A count (c10::DeviceIndex, a signed char), never negative.
  // NOLINTNEXTLINE(bugprone-signed-char-misuse,cert-str34-c)
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

}  // namespace

// The table lives in data_type.cc; its Torch codes are c10::ScalarType's.
static_assert(static_cast<int>(at::kFloat) == 6 &&
                  static_cast<int>(at::kBool) == 11 &&
                  static_cast<int>(at::kBFloat16) == 15,
              "c10::ScalarType values changed; update data_type.cc");

std::optional<at::ScalarType> ToScalarType(inference::DataType type) {
  const int code = TorchTypeCode(type);
  if (code < 0) return std::nullopt;
  return static_cast<at::ScalarType>(code);
}

inference::DataType FromScalarType(at::ScalarType type) {
  return FromTorchTypeCode(static_cast<int>(type));
}

absl::StatusOr<std::vector<at::ScalarType>> InputTypes(
    const inference::ModelConfig& config) {
  std::vector<at::ScalarType> types;
  for (int i = 0; i < config.input_size(); ++i) {
    std::optional<at::ScalarType> type =
        ToScalarType(config.input(i).data_type());
    if (!type) {
      return absl::InvalidArgumentError(absl::StrCat(
          "input[", i, "].data_type: ", ConfigName(config.input(i).data_type()),
          " has no LibTorch equivalent"));
    }
    types.push_back(*type);
  }
  return types;
}

std::string ErrorText(const std::exception& e) {
  const auto* error = dynamic_cast<const c10::Error*>(&e);
  std::string text =
      error != nullptr ? error->what_without_backtrace() : e.what();
  // Some messages end in a newline or a blank line; one line reads better.
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
    text.pop_back();
  }
  return text;
}

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

at::Tensor WrapInput(const Tensor& input, at::ScalarType type,
                     const c10::Device& device) {
  at::Tensor tensor = at::from_blob(const_cast<char*>(input.data), input.shape,
                                    at::TensorOptions().dtype(type));
  if (!device.is_cpu()) tensor = tensor.to(device, /*non_blocking=*/true);
  return tensor;
}

absl::StatusOr<Tensor> OwnOutput(const at::Tensor& output) {
  auto owned = std::make_shared<at::Tensor>(output.to(at::kCPU).contiguous());
  Tensor out;
  out.dtype = FromScalarType(owned->scalar_type());
  if (out.dtype == inference::TYPE_INVALID) {
    return absl::InternalError(absl::StrCat("the model returned a tensor of ",
                                            c10::toString(owned->scalar_type()),
                                            ", which has no config data type"));
  }
  out.shape.assign(owned->sizes().begin(), owned->sizes().end());
  out.data = static_cast<const char*>(owned->data_ptr());
  out.byte_size = owned->nbytes();
  out.owner = std::move(owned);
  return out;
}

absl::StatusOr<std::string> ModelFilePath(const inference::ModelConfig& config,
                                          const std::string& version_dir,
                                          const std::string& default_name) {
  const bool named = !config.default_model_filename().empty();
  return ResolveInside(
      version_dir, named ? config.default_model_filename() : default_name,
      named ? "default_model_filename" : "model file",
      std::filesystem::path(version_dir).parent_path().string());
}

Placement::Placement(c10::Device device) : device_(device) {
#ifdef INFERD_WITH_CUDA
  if (device.is_cuda()) {
    stream_ =
        c10::cuda::getStreamFromPool(/*isHighPriority=*/false, device.index());
  }
#endif
}

void* Placement::stream_handle() const {
#ifdef INFERD_WITH_CUDA
  if (stream_) return stream_->stream();
#endif
  return nullptr;
}

Placement::Guard::Guard(const Placement& placement) {
#ifdef INFERD_WITH_CUDA
  if (placement.stream_) guard_.emplace(*placement.stream_);
#endif
}

ForwardScope::ForwardScope(const Placement& placement) : on_stream_(placement) {
  UseIntraOpThreads();
}

std::vector<at::Tensor> WrapInputs(const std::vector<Tensor>& inputs,
                                   const std::vector<at::ScalarType>& types,
                                   const std::vector<int>& positions,
                                   const c10::Device& device) {
  std::vector<at::Tensor> args(positions.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    args[positions[i]] = WrapInput(inputs[i], types[i], device);
  }
  return args;
}

inference::ModelInstanceGroup::Kind DefaultAutoKind() {
  return kBuiltWithCuda && torch::cuda::is_available()
             ? inference::ModelInstanceGroup::KIND_GPU
             : inference::ModelInstanceGroup::KIND_CPU;
}

absl::StatusOr<std::vector<c10::Device>> ResolveDevices(
    const inference::ModelConfig& config,
    inference::ModelInstanceGroup::Kind auto_kind) {
  std::vector<c10::Device> devices;
  for (int i = 0; i < config.instance_group_size(); ++i) {
    const auto& group = config.instance_group(i);
    const int count = std::max(1, group.count());
    inference::ModelInstanceGroup::Kind kind = group.kind();
    if (kind == inference::ModelInstanceGroup::KIND_AUTO) kind = auto_kind;
    if (kind != inference::ModelInstanceGroup::KIND_GPU) {
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

void UseIntraOpThreads() { at::init_num_threads(); }

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

}  // namespace inferd::torch_backend
