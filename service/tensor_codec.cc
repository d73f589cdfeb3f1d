#include "service/tensor_codec.h"

#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"

namespace inferd {
namespace {

template <typename To, typename Values>
std::string PackAs(const Values& values) {
  std::string bytes(values.size() * sizeof(To), '\0');
  char* out = bytes.data();
  for (const auto& v : values) {
    const To converted = static_cast<To>(v);
    std::memcpy(out, &converted, sizeof(To));
    out += sizeof(To);
  }
  return bytes;
}

// Converts typed contents to little-endian bytes of `datatype`; also returns
// how many values were given.
absl::StatusOr<std::pair<std::string, size_t>> PackContents(
    const std::string& name, const std::string& datatype,
    const inference::InferTensorContents& c) {
  auto packed = [](std::string bytes, size_t count) {
    return std::make_pair(std::move(bytes), count);
  };
  if (datatype == "BOOL") return packed(PackAs<uint8_t>(c.bool_contents()), c.bool_contents_size());
  if (datatype == "INT8") return packed(PackAs<int8_t>(c.int_contents()), c.int_contents_size());
  if (datatype == "INT16") return packed(PackAs<int16_t>(c.int_contents()), c.int_contents_size());
  if (datatype == "INT32") return packed(PackAs<int32_t>(c.int_contents()), c.int_contents_size());
  if (datatype == "INT64") return packed(PackAs<int64_t>(c.int64_contents()), c.int64_contents_size());
  if (datatype == "UINT8") return packed(PackAs<uint8_t>(c.uint_contents()), c.uint_contents_size());
  if (datatype == "UINT16") return packed(PackAs<uint16_t>(c.uint_contents()), c.uint_contents_size());
  if (datatype == "UINT32") return packed(PackAs<uint32_t>(c.uint_contents()), c.uint_contents_size());
  if (datatype == "UINT64") return packed(PackAs<uint64_t>(c.uint64_contents()), c.uint64_contents_size());
  if (datatype == "FP32") return packed(PackAs<float>(c.fp32_contents()), c.fp32_contents_size());
  if (datatype == "FP64") return packed(PackAs<double>(c.fp64_contents()), c.fp64_contents_size());
  return absl::InvalidArgumentError(absl::StrCat(
      "input \"", name, "\": datatype ", datatype,
      " cannot be sent as typed contents; send it in raw_input_contents"));
}

// Element count of `shape`, or -1 when a dim is < 1 or the count overflows
// (the model's validation reports those with the expected shape).
int64_t ElementCount(const google::protobuf::RepeatedField<int64_t>& shape) {
  int64_t count = 1;
  for (int64_t dim : shape) {
    if (dim < 1 || count > std::numeric_limits<int64_t>::max() / dim) {
      return -1;
    }
    count *= dim;
  }
  return count;
}

absl::Status DecodeTyped(const inference::ModelInferRequest::InferInputTensor& in,
                         InputTensor* out) {
  absl::StatusOr<std::pair<std::string, size_t>> packed =
      PackContents(in.name(), in.datatype(), in.contents());
  if (!packed.ok()) return packed.status();
  const int64_t expected = ElementCount(in.shape());
  if (expected >= 0 && static_cast<int64_t>(packed->second) != expected) {
    return absl::InvalidArgumentError(absl::StrCat(
        "input \"", in.name(), "\": contents has ", packed->second,
        " values, shape needs ", expected));
  }
  auto storage = std::make_shared<const std::string>(std::move(packed->first));
  out->data = *storage;
  out->storage = std::move(storage);
  return absl::OkStatus();
}

bool HasTypedContents(const inference::InferTensorContents& c) {
  return c.bool_contents_size() > 0 || c.int_contents_size() > 0 ||
         c.int64_contents_size() > 0 || c.uint_contents_size() > 0 ||
         c.uint64_contents_size() > 0 || c.fp32_contents_size() > 0 ||
         c.fp64_contents_size() > 0 || c.bytes_contents_size() > 0;
}

}  // namespace

absl::Status DecodeInferRequest(const inference::ModelInferRequest& request,
                                InferRequest* out) {
  out->model_name = request.model_name();
  out->model_version = request.model_version();
  out->id = request.id();
  const bool raw = request.raw_input_contents_size() > 0;
  if (raw && request.raw_input_contents_size() != request.inputs_size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "raw_input_contents has ", request.raw_input_contents_size(),
        " entries; expected one per input (", request.inputs_size(), ")"));
  }
  out->inputs.resize(request.inputs_size());
  for (int i = 0; i < request.inputs_size(); ++i) {
    const auto& in = request.inputs(i);
    InputTensor& tensor = out->inputs[i];
    tensor.name = in.name();
    tensor.datatype = in.datatype();
    tensor.shape.assign(in.shape().begin(), in.shape().end());
    const bool typed = in.has_contents() && HasTypedContents(in.contents());
    if (raw && typed) {
      return absl::InvalidArgumentError(absl::StrCat(
          "input \"", in.name(),
          "\": has typed contents, but the request also uses "
          "raw_input_contents; use one or the other"));
    }
    if (raw) {
      tensor.data = request.raw_input_contents(i);
    } else if (absl::Status s = DecodeTyped(in, &tensor); !s.ok()) {
      return s;
    }
  }
  for (const auto& wanted : request.outputs()) {
    RequestedOutput output;
    output.name = wanted.name();
    if (auto it = wanted.parameters().find("classification");
        it != wanted.parameters().end()) {
      output.classify = true;
      output.classification = it->second.int64_param();
    }
    out->outputs.push_back(std::move(output));
  }
  return absl::OkStatus();
}

void EncodeInferResponse(InferResponse response,
                         inference::ModelInferResponse* out) {
  out->set_model_name(std::move(response.model_name));
  out->set_model_version(std::move(response.model_version));
  out->set_id(std::move(response.id));
  for (OutputTensor& tensor : response.outputs) {
    auto* output = out->add_outputs();
    output->set_name(std::move(tensor.name));
    output->set_datatype(std::move(tensor.datatype));
    for (int64_t dim : tensor.shape) output->add_shape(dim);
    out->add_raw_output_contents(std::move(tensor.data));
  }
}

}  // namespace inferd
