#ifndef INFERD_MODEL_STORE_DATA_TYPE_H_
#define INFERD_MODEL_STORE_DATA_TYPE_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"
#include "proto/model_config.pb.h"

namespace inferd {

// Bytes per element of `type`; 0 for types inferd cannot carry as fixed-size
// tensors (TYPE_STRING, TYPE_INVALID).
size_t ElementSize(inference::DataType type);

// The KServe v2 wire name of `type` ("FP32", "INT64", "BYTES", ...).
std::string WireName(inference::DataType type);

// Parses a KServe v2 wire name; TYPE_INVALID when unknown.
inference::DataType FromWireName(absl::string_view name);

// The value of LibTorch's c10::ScalarType for `type` (kFloat = 6, ...; the
// dtype codes of its stable C ABI), or -1 when LibTorch models cannot compute
// with it (UINT16/32/64 have no full tensor support; STRING).
int TorchTypeCode(inference::DataType type);

// The config type of a c10::ScalarType value; TYPE_INVALID when none.
inference::DataType FromTorchTypeCode(int code);

// The config spelling, e.g. "TYPE_FP32", for messages.
std::string ConfigName(inference::DataType type);

}  // namespace inferd

#endif  // INFERD_MODEL_STORE_DATA_TYPE_H_
