#ifndef INFERD_MODEL_STORE_BACKENDS_TORCHSCRIPT_MODEL_H_
#define INFERD_MODEL_STORE_BACKENDS_TORCHSCRIPT_MODEL_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "model_store/model.h"
#include "proto/model_config.pb.h"

namespace inferd::torch_backend {

// Loads a TorchScript archive (platform "pytorch_libtorch", torch.jit.save)
// from `version_dir`/<default_model_filename or model.pt>. Each execution
// instance gets its own copy of the module, in eval mode and frozen where
// TorchScript allows it; every forward pass runs under c10::InferenceMode.
// Inputs map to forward()'s arguments by name, or by Triton's NAME__k;
// outputs by NAME__k, else in the order of the returned tuple.
// Errors: InvalidArgument when the file is not a loadable archive (with
// LibTorch's reason, e.g. an operator this LibTorch lacks) or contradicts the
// config (naming the field).
absl::StatusOr<std::unique_ptr<Model>> LoadTorchScriptModel(
    const inference::ModelConfig& config, const std::string& version_dir);

}  // namespace inferd::torch_backend

#endif  // INFERD_MODEL_STORE_BACKENDS_TORCHSCRIPT_MODEL_H_
