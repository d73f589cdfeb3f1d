#ifndef INFERD_MODEL_STORE_WARM_UP_H_
#define INFERD_MODEL_STORE_WARM_UP_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "model_store/model.h"
#include "proto/model_config.pb.h"

namespace inferd {

// Runs a version before it takes traffic, on every execution instance, and
// checks each result against the config. With `model_warmup` entries in the
// config, each runs `count` times (default 1) with `batch_size` rows (default
// 1) of zero_data or random_data for every input (input_data_file is
// refused); without, one batch of one row of zeros (variable dims as 1).
// No input is allocated past kMaxTensorBytes (nor all of a batch's past
// kMaxBatchInputBytes): such an entry is refused before it allocates.
// InvalidArgument naming the config field the model contradicts, or the
// model's own error.
absl::Status WarmUp(const inference::ModelConfig& config, Model* model);

// One input tensor per config input, all zeros: `rows` rows when the config
// batches (max_batch_size > 0; `rows` ignored otherwise) of its dims, with
// variable dims (-1) as 1. Nothing is allocated past the limits of
// model_config.h: an input over kMaxTensorBytes, or inputs over
// kMaxBatchInputBytes together, are InvalidArgument (a config
// ValidateModelConfig accepted never is, for rows up to max_batch_size).
absl::StatusOr<std::vector<Tensor>> ZeroInputs(
    const inference::ModelConfig& config, int64_t rows);

}  // namespace inferd

#endif  // INFERD_MODEL_STORE_WARM_UP_H_
