#ifndef INFERD_MODEL_STORE_BACKENDS_TORCH_LOADER_H_
#define INFERD_MODEL_STORE_BACKENDS_TORCH_LOADER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "model_store/model.h"

namespace inferd {

// Loads the model formats LibTorch runs, by the config's platform:
// "pytorch_libtorch" (TorchScript, model.pt; backends/torchscript_model.h)
// and "torch_aoti" (torch.export + AOTInductor, model.pt2;
// backends/aoti_model.h).
//
// Constructing the first loader fixes LibTorch's process-wide settings, so
// construct it before the server's threads start:
// - TorchScript's TensorExpr fuser is off. With it, LibTorch 2.x recompiles a
//   graph for every new input shape (every batch size the batcher forms),
//   stalling the first request of each for 20-400 ms where LibTorch was built
//   with LLVM; the wheel's LibTorch cannot fuse on the CPU at all (no LLVM),
//   so there it changes nothing (bench/README.md).
// - AOTI_RUNTIME_CHECK_INPUTS=1 unless the environment sets it: AOTInductor
//   packages then check every call's shapes, strides and types against what
//   they were exported for, instead of silently computing on the wrong rows.
// Thread-safe.
class TorchModelLoader final : public ModelLoader {
 public:
  TorchModelLoader();

  absl::StatusOr<std::unique_ptr<Model>> Load(
      const inference::ModelConfig& config,
      const std::string& version_dir) override;
};

// Sets LibTorch's process-wide thread pools: `intra_op` threads per operator
// (0: leave LibTorch's default) and `inter_op` threads (0: default). The
// inter-op pool can only be sized once, before any model runs.
void ConfigureTorchThreads(int intra_op, int inter_op);

// OpenMP's thread count for the calling thread's next parallel region, as
// LibTorch's kernels and MKL would use it (the setting is per thread; see
// UseIntraOpThreads in torch_common.h); -1 when LibTorch has no OpenMP.
// Unlike at::get_num_threads(), asking does not change it.
int OpenMpThreadsOfThisThread();

// Whether this LibTorch build can run on CUDA devices here.
bool TorchHasCuda();

// The LibTorch version inferd was built with, "MAJOR.MINOR.PATCH".
std::string TorchVersion();

}  // namespace inferd

#endif  // INFERD_MODEL_STORE_BACKENDS_TORCH_LOADER_H_
