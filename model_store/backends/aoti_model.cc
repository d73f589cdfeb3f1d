#include "model_store/backends/aoti_model.h"

#ifdef INFERD_WITH_AOTI

#include <torch/csrc/inductor/aoti_package/model_package_loader.h>

#include <map>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/logging.h"
#include "model_store/backends/aoti_package_check.h"
#include "model_store/backends/aoti_probe.h"
#include "model_store/backends/archive_check.h"
#include "model_store/backends/torch_common.h"
#include "model_store/backends/torch_loader.h"

namespace inferd::torch_backend {
namespace {

using PackageLoader = torch::inductor::AOTIModelPackageLoader;

// The model's name inside a package (aoti_compile_and_package's default).
constexpr char kModelName[] = "model";

// One execution instance: its own copy of the package, where it runs.
struct Instance {
  std::unique_ptr<PackageLoader> package;
  Placement place;
};

// `tensor` grown to `rows` rows by repeating its last row.
at::Tensor PadRows(const at::Tensor& tensor, int64_t rows) {
  std::vector<int64_t> sizes = tensor.sizes().vec();
  sizes[0] = rows - tensor.size(0);
  return at::cat(
      {tensor, tensor.narrow(0, tensor.size(0) - 1, 1).expand(sizes)}, 0);
}

class AotiModel final : public AotiProbeTarget {
 public:
  AotiModel(std::vector<Instance> instances, std::vector<int> input_positions,
            std::vector<int> output_slots,
            std::vector<at::ScalarType> input_types, int package_outputs,
            bool batched)
      : instances_(std::move(instances)),
        input_positions_(std::move(input_positions)),
        output_slots_(std::move(output_slots)),
        input_types_(std::move(input_types)),
        package_outputs_(package_outputs),
        batched_(batched) {}

  int instance_count() const override {
    return static_cast<int>(instances_.size());
  }

  std::string instance_device(int instance) const override {
    return instances_[instance].place.device().str();
  }

  // REQUIRES: no batch runs (called once, by the loader, before serving).
  void set_min_rows(int64_t rows) override { min_rows_ = rows; }

  absl::StatusOr<std::vector<Tensor>> Execute(
      int instance, const std::vector<Tensor>& inputs) override {
    Instance& target = instances_[instance];
    try {
      ForwardScope scope(target.place);
      std::vector<at::Tensor> args = WrapInputs(
          inputs, input_types_, input_positions_, target.place.device());
      const int64_t rows = batched_ ? args.front().size(0) : 0;
      const bool padded = batched_ && rows < min_rows_;
      if (padded) {
        for (at::Tensor& arg : args) arg = PadRows(arg, min_rows_);
      }
      std::vector<at::Tensor> results =
          target.package->run(args, target.place.stream_handle());
      if (static_cast<int>(results.size()) != package_outputs_) {
        return absl::InternalError(
            absl::StrCat("the package returned ", results.size(),
                         " tensors; its call spec has ", package_outputs_));
      }
      std::vector<Tensor> outputs;
      for (int slot : output_slots_) {
        at::Tensor result = results[slot];
        if (padded && result.dim() > 0 && result.size(0) == min_rows_) {
          result = result.narrow(0, 0, rows);
        }
        absl::StatusOr<Tensor> out = OwnOutput(result);
        if (!out.ok()) return out.status();
        outputs.push_back(std::move(*out));
      }
      return outputs;
    } catch (const std::exception& e) {
      return absl::InternalError(
          absl::StrCat("the package's run failed: ", ErrorText(e)));
    }
  }

 private:
  // Instance i is used by worker i alone.
  std::vector<Instance> instances_;
  // Package input position of each config input.
  const std::vector<int> input_positions_;
  // Package output index of each config output.
  const std::vector<int> output_slots_;
  const std::vector<at::ScalarType> input_types_;
  const int package_outputs_;
  const bool batched_;
  // Batches of fewer rows are padded to this many (see aoti_model.h).
  int64_t min_rows_ = 1;
};

// Leaves of a pytree spec (torch.utils._pytree's JSON): the tensors.
int CountLeaves(const std::string& spec) {
  int leaves = 0;
  for (size_t at = spec.find("\"type\": null"); at != std::string::npos;
       at = spec.find("\"type\": null", at + 1)) {
    ++leaves;
  }
  return leaves;
}

// Package position of each config tensor: NAME__k, else the config order.
// `what` is "input" or "output".
absl::StatusOr<std::vector<int>> MapPositions(
    const google::protobuf::RepeatedPtrField<std::string>& names,
    int package_count, const std::string& what, const std::string& file) {
  std::vector<int> positions;
  std::vector<bool> used(package_count, false);
  for (int i = 0; i < names.size(); ++i) {
    const int position = IndexSuffix(names[i]).value_or(i);
    if (position >= package_count || used[position]) {
      return absl::InvalidArgumentError(absl::StrCat(
          what, "[", i, "].name: \"", names[i], "\" maps to ", what, " ",
          position, " of ", file, ", which has ", package_count, " ", what, "s",
          position < package_count ? " (and it is mapped twice)" : ""));
    }
    used[position] = true;
    positions.push_back(position);
  }
  return positions;
}

google::protobuf::RepeatedPtrField<std::string> InputNames(
    const inference::ModelConfig& config) {
  google::protobuf::RepeatedPtrField<std::string> names;
  for (const auto& input : config.input()) *names.Add() = input.name();
  return names;
}

google::protobuf::RepeatedPtrField<std::string> OutputNames(
    const inference::ModelConfig& config) {
  google::protobuf::RepeatedPtrField<std::string> names;
  for (const auto& output : config.output()) *names.Add() = output.name();
  return names;
}

absl::StatusOr<AotiDevice> CheckPackage(const std::string& path) {
  std::map<std::string, std::string> metadata;
  try {
    for (auto& [key, value] :
         PackageLoader::load_metadata_from_package(path, kModelName)) {
      metadata.emplace(key, value);
    }
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": not a loadable AOTInductor package (.pt2): ", ErrorText(e)));
  }
  return CheckAotiPackage(metadata, ThisHost(TorchVersion()), path);
}

absl::StatusOr<std::vector<Instance>> LoadInstances(
    const inference::ModelConfig& config, const std::string& path,
    AotiDevice package_device) {
  const bool cuda = package_device == AotiDevice::kCuda;
  absl::StatusOr<std::vector<c10::Device>> devices =
      ResolveDevices(config, cuda ? inference::ModelInstanceGroup::KIND_GPU
                                  : inference::ModelInstanceGroup::KIND_CPU);
  if (!devices.ok()) return devices.status();
  std::vector<Instance> instances;
  for (const c10::Device& device : *devices) {
    if (device.is_cuda() != cuda) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, " was compiled for ", cuda ? "CUDA" : "the CPU",
          ", but its instance_group asks for ", device.str(),
          "; a package runs only on the device it was exported for"));
    }
    std::unique_ptr<PackageLoader> package;
    try {
      package = std::make_unique<PackageLoader>(
          path, kModelName, /*run_single_threaded=*/true, /*num_runners=*/1,
          cuda ? device.index() : c10::DeviceIndex(-1));
    } catch (const std::exception& e) {
      const std::string cause = ErrorText(e);
      // A package is a shared library linked against libtorch.so: a build
      // of inferd that left libtorch.so out (-DINFERD_CUDA=OFF with a CUDA
      // LibTorch) cannot load it; another PyTorch's package fails here too.
      const std::string hint =
          absl::StrContains(cause, "cannot open shared object file")
              ? std::string(
                    "a library the package links is not loaded; a package "
                    "needs libtorch.so, which inferd built with "
                    "-DINFERD_CUDA=OFF against a CUDA LibTorch leaves out")
              : absl::StrCat(
                    "was it built by another PyTorch version? "
                    "inferd runs ",
                    TorchVersion());
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": AOTInductor could not load the package (", hint,
                       "): ", cause));
    }
    instances.push_back(Instance{std::move(package), Placement(device)});
  }
  return instances;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Model>> LoadAotiModel(
    const inference::ModelConfig& config, const std::string& version_dir) {
  absl::StatusOr<std::vector<at::ScalarType>> input_types = InputTypes(config);
  if (!input_types.ok()) return input_types.status();
  ApplyThreadParameters(config);
  absl::StatusOr<std::string> file =
      ModelFilePath(config, version_dir, "model.pt2");
  if (!file.ok()) return file.status();
  const std::string& path = *file;
  // Before LibTorch allocates what the archive declares.
  if (absl::Status bomb = CheckArchiveInflation(path); !bomb.ok()) return bomb;
  absl::StatusOr<AotiDevice> device = CheckPackage(path);
  if (!device.ok()) return device.status();
  absl::StatusOr<std::vector<Instance>> instances =
      LoadInstances(config, path, *device);
  if (!instances.ok()) return instances.status();

  std::vector<std::string> spec;
  try {
    spec = instances->front().package->get_call_spec();
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": no call spec: ", ErrorText(e)));
  }
  if (spec.size() != 2) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": expected an input and an output call spec, got ",
                     spec.size()));
  }
  const int package_inputs = CountLeaves(spec[0]);
  const int package_outputs = CountLeaves(spec[1]);
  if (package_inputs != config.input_size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "input: config declares ", config.input_size(), " inputs, but ", path,
        " takes ", package_inputs, " tensors"));
  }
  absl::StatusOr<std::vector<int>> inputs =
      MapPositions(InputNames(config), package_inputs, "input", path);
  if (!inputs.ok()) return inputs.status();
  absl::StatusOr<std::vector<int>> outputs =
      MapPositions(OutputNames(config), package_outputs, "output", path);
  if (!outputs.ok()) return outputs.status();

  auto model = std::make_unique<AotiModel>(
      std::move(*instances), std::move(*inputs), std::move(*outputs),
      std::move(*input_types), package_outputs, config.max_batch_size() > 0);
  if (absl::Status probed = ProbeBatchDimension(config, path, model.get());
      !probed.ok()) {
    return probed;
  }
  return model;
}

}  // namespace inferd::torch_backend

#else  // !INFERD_WITH_AOTI

#include "absl/strings/str_cat.h"
#include "model_store/backends/torch_loader.h"

namespace inferd::torch_backend {

absl::StatusOr<std::unique_ptr<Model>> LoadAotiModel(
    const inference::ModelConfig& config, const std::string& version_dir) {
  return absl::InvalidArgumentError(absl::StrCat(
      "platform: \"torch_aoti\" needs LibTorch 2.10 or later; this inferd was "
      "built with LibTorch ",
      TorchVersion(),
      " (serve the model as TorchScript, or rebuild inferd with a newer "
      "LibTorch)"));
}

}  // namespace inferd::torch_backend

#endif  // INFERD_WITH_AOTI
