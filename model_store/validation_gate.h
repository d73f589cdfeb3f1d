#ifndef INFERD_MODEL_STORE_VALIDATION_GATE_H_
#define INFERD_MODEL_STORE_VALIDATION_GATE_H_

#include <string>

#include "absl/status/status.h"
#include "model_store/model.h"
#include "proto/model_config.pb.h"

namespace inferd {

// The deployment contract, checked before a version takes traffic. When
// `version_dir` holds a validation directory (config `validation.directory`,
// default "validation"), it has one file per input, `<input name>.bin`, and
// one per output to check, `<output name>.bin`: rows of raw little-endian
// values as the training framework fed and produced them. The model runs on
// the inputs (in batches of at most max_batch_size rows) and every value must
// match: |got - expected| <= atol + rtol * |expected| for floating types
// (config `validation` tolerances; 0 means 1e-5), exactly for the others.
// No directory: OK (no gate). InvalidArgument naming the worst mismatch, or
// what is missing or malformed, otherwise.
absl::Status RunValidationGate(const inference::ModelConfig& config,
                               Model* model, const std::string& version_dir);

}  // namespace inferd

#endif  // INFERD_MODEL_STORE_VALIDATION_GATE_H_
