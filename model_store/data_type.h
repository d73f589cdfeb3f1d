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

// The config spelling, e.g. "TYPE_FP32", for messages.
std::string ConfigName(inference::DataType type);

}  // namespace inferd

#endif  // INFERD_MODEL_STORE_DATA_TYPE_H_
