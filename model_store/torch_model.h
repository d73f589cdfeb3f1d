#ifndef INFERD_MODEL_STORE_TORCH_MODEL_H_
#define INFERD_MODEL_STORE_TORCH_MODEL_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "model_store/model.h"

namespace inferd {

// Loads TorchScript archives (torch.jit.save) as Models. Each execution
// instance gets its own copy of the module in eval mode, frozen where the
// module allows it; every forward pass runs under c10::InferenceMode (no
// autograd state). Inputs map to forward()'s arguments by name, or by the
// NAME__INDEX convention of Triton's PyTorch backend; outputs map by
// NAME__INDEX or else in order of the returned tuple.
// Thread-safe.
class TorchModelLoader final : public ModelLoader {
 public:
  // Loads `version_dir`/<default_model_filename or model.pt>.
  absl::StatusOr<std::unique_ptr<Model>> Load(
      const inference::ModelConfig& config,
      const std::string& version_dir) override;
};

// Sets LibTorch's process-wide thread pools: `intra_op` threads per operator
// (0: leave LibTorch's default) and `inter_op` threads (0: default). The
// inter-op pool can only be sized once, before any model runs.
void ConfigureTorchThreads(int intra_op, int inter_op);

// Whether this LibTorch build can run on CUDA devices.
bool TorchHasCuda();

}  // namespace inferd

#endif  // INFERD_MODEL_STORE_TORCH_MODEL_H_
