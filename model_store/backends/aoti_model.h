#ifndef INFERD_MODEL_STORE_BACKENDS_AOTI_MODEL_H_
#define INFERD_MODEL_STORE_BACKENDS_AOTI_MODEL_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "model_store/model.h"
#include "proto/model_config.pb.h"

namespace inferd::torch_backend {

// Loads a torch.export + AOTInductor package (platform "torch_aoti") from
// `version_dir`/<default_model_filename or model.pt2>, one copy per execution
// instance, each on its device (and on a GPU its own CUDA stream).
//
// Before the package's native code is loaded, its metadata is checked against
// this machine (device, CPU ISA, PyTorch version; see aoti_package_check.h).
// Inputs map by Triton's NAME__k, else in config order, to the package's
// positional inputs; outputs by NAME__k, else in order.
//
// With max_batch_size > 0 the package's batch dimension must have been
// exported dynamic. Loading runs it with 1 row and with max_batch_size rows
// of zeros and checks every output has as many rows: a static batch
// dimension is refused with how to re-export, instead of silently answering
// the wrong number of rows. A package whose batch dimension starts at 2
// (torch.export specializes sizes 0 and 1, and the package's input checks
// then refuse 1) is accepted; a 1-row batch is padded to 2 rows and the
// padding dropped from the outputs.
//
// Errors: InvalidArgument naming the file and what does not match.
absl::StatusOr<std::unique_ptr<Model>> LoadAotiModel(
    const inference::ModelConfig& config, const std::string& version_dir);

}  // namespace inferd::torch_backend

#endif  // INFERD_MODEL_STORE_BACKENDS_AOTI_MODEL_H_
