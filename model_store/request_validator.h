#ifndef INFERD_MODEL_STORE_REQUEST_VALIDATOR_H_
#define INFERD_MODEL_STORE_REQUEST_VALIDATOR_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "model_store/infer_request.h"
#include "proto/model_config.pb.h"

namespace inferd {

// An output to produce for one request, by index into the config's outputs.
struct OutputSelection {
  int index = 0;
  int64_t classification = 0;  // 0: the raw tensor; N: top-N strings
};

// A request that matches its model's config.
struct ValidatedRequest {
  // The request's inputs in the config's input order.
  std::vector<const InputTensor*> inputs;
  // Size of the batch dimension; 1 for models without one.
  int64_t rows = 1;
  // Equal for requests whose inputs have equal non-batch shapes.
  uint64_t shape_key = 0;
  std::vector<OutputSelection> outputs;
};

// Checks `request` against `config`: input names (missing, unknown,
// duplicate), datatypes, shapes against dims (-1 matches any size; the batch
// dimension is in [1, max_batch_size]), byte sizes, and requested outputs.
// InvalidArgument naming the input, what was expected and what came.
// The result points into `request`, which must outlive it.
absl::StatusOr<ValidatedRequest> ValidateRequest(
    const inference::ModelConfig& config, const InferRequest& request);

}  // namespace inferd

#endif  // INFERD_MODEL_STORE_REQUEST_VALIDATOR_H_
