#ifndef INFERD_TOOLS_BENCH_REQUEST_H_
#define INFERD_TOOLS_BENCH_REQUEST_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "client/internal.h"
#include "inferd/client.h"
#include "proto/inference.pb.h"

namespace inferd::bench {

// The request every benchmark call sends, built once with the client
// library's request builder.
struct BenchRequest {
  client::InferRequest request;
  // The ModelInfer message of `request`, which the load loops send.
  const inference::ModelInferRequest& wire() const {
    return client::internal::Access::Wire(request);
  }
  // Rows (inferences) one request carries: the requested rows when some
  // input has a variable leading (batch) dimension, else 1.
  int64_t rows_per_request = 1;
};

// Builds a ModelInfer request for the model `metadata` describes, with one
// raw input per metadata input. Shape: the metadata shape with a leading -1
// replaced by `rows` and any other -1 by 1. Contents, from a generator seeded
// with `seed`: FP32/FP64 uniform in [-1, 1], integers in [0, 9], BOOL, FP16
// and BF16 zeros. No outputs are named, so the server returns them all.
// REQUIRES: rows >= 1.
// Returns InvalidArgument for a shape it cannot build (dimension < -1, or a
// tensor over 1 GiB) and Unimplemented for BYTES or unknown datatypes.
absl::StatusOr<BenchRequest> BuildBenchRequest(
    const inference::ModelMetadataResponse& metadata, int64_t rows,
    uint32_t seed);

}  // namespace inferd::bench

#endif  // INFERD_TOOLS_BENCH_REQUEST_H_
