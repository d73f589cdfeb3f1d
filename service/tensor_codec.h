#ifndef INFERD_SERVICE_TENSOR_CODEC_H_
#define INFERD_SERVICE_TENSOR_CODEC_H_

#include "absl/status/status.h"
#include "model_store/infer_request.h"
#include "proto/inference.pb.h"

namespace inferd {

// Decodes the wire request into `out` without checking it against a model
// (ServableModel does that). Raw inputs are not copied: `out` points into
// `request`, which must outlive it. Typed `contents` are converted to
// little-endian bytes. InvalidArgument when the request mixes raw and typed
// contents, has a raw entry count different from its input count, typed
// contents whose count does not match the shape, or typed contents for a
// type that has no typed field (FP16, BF16). Request parameters "priority"
// and "timeout" (microseconds; Triton's schedule policy) go to
// out->priority and out->timeout: each an int64_param >= 0 or a
// uint64_param, else InvalidArgument naming the parameter and the type it
// needs. Other request parameters are ignored.
absl::Status DecodeInferRequest(const inference::ModelInferRequest& request,
                                InferRequest* out);

// Moves `response` into the wire message, outputs as raw_output_contents.
void EncodeInferResponse(InferResponse response,
                         inference::ModelInferResponse* out);

}  // namespace inferd

#endif  // INFERD_SERVICE_TENSOR_CODEC_H_
