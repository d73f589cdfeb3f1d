#ifndef INFERD_BENCH_LIMIT_MODEL_H_
#define INFERD_BENCH_LIMIT_MODEL_H_

// The model side of inferd-inprocess-limit: a model directory read the way
// inferd reads it, and the inputs fed to it.

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "model_store/model.h"
#include "model_store/model_config.h"

namespace inferd::bench {

// A model directory (Triton layout) ready to load.
struct LimitModelDir {
  ParsedConfig parsed;
  std::string version_dir;  // the highest numbered version
};

// Reads `model_dir`/config.pbtxt (its name must match the directory's, as in
// a repository) and finds the highest version. Notes on stderr the config
// fields inferd ignores.
absl::StatusOr<LimitModelDir> ReadModelDir(const std::string& model_dir);

// InvalidArgument unless every input is TYPE_FP32 with fixed dims: this tool
// feeds random FP32 data of fixed shape.
absl::Status CheckFeedable(const inference::ModelConfig& config);

// Random N(0,1) inputs of shape [rows, dims...] (just dims when the model has
// no batch dimension), in the config's input order.
std::vector<Tensor> MakeInputs(const inference::ModelConfig& config,
                               int64_t rows, std::mt19937* random);

// The sizes of `wanted` that `config` accepts (notes on stderr those
// skipped); a model without a batch dimension runs once, as "batch 1" with
// inputs shaped exactly dims.
std::vector<int64_t> UsableBatchSizes(const inference::ModelConfig& config,
                                      const std::vector<int64_t>& wanted);

}  // namespace inferd::bench

#endif  // INFERD_BENCH_LIMIT_MODEL_H_
