#include "model_store/data_type.h"

#include <array>
#include <utility>

namespace inferd {
namespace {

struct TypeInfo {
  inference::DataType type;
  const char* wire;
  size_t size;
  // c10::ScalarType's value for it (the dtype codes of LibTorch's stable C
  // ABI); -1: LibTorch models cannot compute with it.
  int torch_code;
};

// The one table of data types: config name, wire name, size, Torch type.
constexpr std::array<TypeInfo, 14> kTypes = {{
    {inference::TYPE_BOOL, "BOOL", 1, 11},
    {inference::TYPE_UINT8, "UINT8", 1, 0},
    {inference::TYPE_UINT16, "UINT16", 2, -1},
    {inference::TYPE_UINT32, "UINT32", 4, -1},
    {inference::TYPE_UINT64, "UINT64", 8, -1},
    {inference::TYPE_INT8, "INT8", 1, 1},
    {inference::TYPE_INT16, "INT16", 2, 2},
    {inference::TYPE_INT32, "INT32", 4, 3},
    {inference::TYPE_INT64, "INT64", 8, 4},
    {inference::TYPE_FP16, "FP16", 2, 5},
    {inference::TYPE_FP32, "FP32", 4, 6},
    {inference::TYPE_FP64, "FP64", 8, 7},
    {inference::TYPE_STRING, "BYTES", 0, -1},
    {inference::TYPE_BF16, "BF16", 2, 15},
}};

}  // namespace

size_t ElementSize(inference::DataType type) {
  for (const TypeInfo& info : kTypes) {
    if (info.type == type) return info.size;
  }
  return 0;
}

std::string WireName(inference::DataType type) {
  for (const TypeInfo& info : kTypes) {
    if (info.type == type) return info.wire;
  }
  return "INVALID";
}

inference::DataType FromWireName(absl::string_view name) {
  for (const TypeInfo& info : kTypes) {
    if (name == info.wire) return info.type;
  }
  return inference::TYPE_INVALID;
}

int TorchTypeCode(inference::DataType type) {
  for (const TypeInfo& info : kTypes) {
    if (info.type == type) return info.torch_code;
  }
  return -1;
}

inference::DataType FromTorchTypeCode(int code) {
  for (const TypeInfo& info : kTypes) {
    if (code >= 0 && info.torch_code == code) return info.type;
  }
  return inference::TYPE_INVALID;
}

std::string ConfigName(inference::DataType type) {
  return inference::DataType_Name(type);
}

}  // namespace inferd
