#include "model_store/backends/torch_loader.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <torch/csrc/jit/passes/tensorexpr_fuser.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <cstdlib>
#include <exception>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "model_store/backends/aoti_model.h"
#include "model_store/backends/torch_common.h"
#include "model_store/backends/torchscript_model.h"

namespace inferd {

TorchModelLoader::TorchModelLoader() {
  static std::once_flag once;
  std::call_once(once, [] {
    torch::jit::setTensorExprFuserEnabled(false);
    setenv("AOTI_RUNTIME_CHECK_INPUTS", "1", /*overwrite=*/0);
  });
}

absl::StatusOr<std::unique_ptr<Model>> TorchModelLoader::Load(
    const inference::ModelConfig& config, const std::string& version_dir) {
  if (config.platform() == "torch_aoti") {
    return torch_backend::LoadAotiModel(config, version_dir);
  }
  return torch_backend::LoadTorchScriptModel(config, version_dir);
}

void ConfigureTorchThreads(int intra_op, int inter_op) {
  if (intra_op > 0) at::set_num_threads(intra_op);
  if (inter_op > 0) {
    try {
      at::set_num_interop_threads(inter_op);
    } catch (const std::exception& e) {
      LogWarning("INTER_OP_THREAD_COUNT ignored: ",
                 torch_backend::ErrorText(e));
    }
  }
}

int OpenMpThreadsOfThisThread() {
  // The OpenMP runtime LibTorch loaded (the wheel bundles its own libgomp);
  // looked up, not linked, so inferd adds no second one.
  using MaxThreads = int (*)();
  static const auto max_threads =
      reinterpret_cast<MaxThreads>(dlsym(RTLD_DEFAULT, "omp_get_max_threads"));
  return max_threads != nullptr ? max_threads() : -1;
}

bool TorchHasCuda() { return torch::cuda::is_available(); }

std::string TorchVersion() {
  return absl::StrCat(TORCH_VERSION_MAJOR, ".", TORCH_VERSION_MINOR, ".",
                      TORCH_VERSION_PATCH);
}

}  // namespace inferd
