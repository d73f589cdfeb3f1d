#ifndef INFERD_MODEL_STORE_OUTPUT_ENCODING_H_
#define INFERD_MODEL_STORE_OUTPUT_ENCODING_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "model_store/infer_request.h"
#include "model_store/model.h"

namespace inferd {

// Checks that `output` (the model's result for config output `spec` over a
// batch of `rows` rows) has the config's datatype and shape. Internal error
// naming the output otherwise.
absl::Status CheckOutput(const inference::ModelOutput& spec, bool batched,
                         int64_t rows, const Tensor& output);

// Checks a model's result for a batch of `rows` rows against `config`: as
// many outputs as it declares, each with its datatype and shape. Internal
// error naming the output ("output[1]: output \"y\": config declares ...")
// otherwise. The one check serving, warm-up and the validation gate share.
absl::Status CheckOutputs(const inference::ModelConfig& config,
                          const std::vector<Tensor>& outputs, int64_t rows);

// Element `i` of `t` as a double; 0 for FP16/BF16 (not supported here).
double ElementAsDouble(const Tensor& t, int64_t i);

// Copies rows [first, first + count) of a batch output into a response
// tensor. With `batched` false the whole tensor is the one row.
OutputTensor SliceRows(const Tensor& output, bool batched, int64_t first,
                       int64_t count, const std::string& name);

// The classification extension: for each row in [first, first + count), the
// top `k` elements as BYTES "<score>:<index>:<label>" (label empty when there
// is no label for that index), highest score first.
OutputTensor ClassifyRows(const Tensor& output, bool batched, int64_t first,
                          int64_t count, int64_t k, const std::string& name,
                          const std::vector<std::string>& labels);

}  // namespace inferd

#endif  // INFERD_MODEL_STORE_OUTPUT_ENCODING_H_
