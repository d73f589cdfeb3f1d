#include "service/tensor_codec.h"

#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "model_store/shape.h"

namespace inferd {
namespace {

// Packs typed values as little-endian `To`; also returns how many values were
// given. An integer that does not fit `To` is refused, not truncated.
template <typename To, typename Values>
absl::StatusOr<std::pair<std::string, size_t>> Pack(const std::string& name,
                                                    const std::string& datatype,
                                                    const Values& values) {
  std::string bytes(values.size() * sizeof(To), '\0');
  char* out = bytes.data();
  for (const auto& v : values) {
    const To converted = static_cast<To>(v);
    if (static_cast<std::decay_t<decltype(v)>>(converted) != v) {
      return absl::InvalidArgumentError(
          absl::StrCat("input \"", name, "\": value ", v,
                       " is out of range for ", datatype));
    }
    std::memcpy(out, &converted, sizeof(To));
    out += sizeof(To);
  }
  return std::make_pair(std::move(bytes), static_cast<size_t>(values.size()));
}

// Converts typed contents to little-endian bytes of `datatype`.
absl::StatusOr<std::pair<std::string, size_t>> PackContents(
    const std::string& name, const std::string& datatype,
    const inference::InferTensorContents& c) {
  const std::string& t = datatype;
  if (t == "BOOL") return Pack<uint8_t>(name, t, c.bool_contents());
  if (t == "INT8") return Pack<int8_t>(name, t, c.int_contents());
  if (t == "INT16") return Pack<int16_t>(name, t, c.int_contents());
  if (t == "INT32") return Pack<int32_t>(name, t, c.int_contents());
  if (t == "INT64") return Pack<int64_t>(name, t, c.int64_contents());
  if (t == "UINT8") return Pack<uint8_t>(name, t, c.uint_contents());
  if (t == "UINT16") return Pack<uint16_t>(name, t, c.uint_contents());
  if (t == "UINT32") return Pack<uint32_t>(name, t, c.uint_contents());
  if (t == "UINT64") return Pack<uint64_t>(name, t, c.uint64_contents());
  if (t == "FP32") return Pack<float>(name, t, c.fp32_contents());
  if (t == "FP64") return Pack<double>(name, t, c.fp64_contents());
  return absl::InvalidArgumentError(absl::StrCat(
      "input \"", name, "\": datatype ", datatype,
      " cannot be sent as typed contents; send it in raw_input_contents"));
}

absl::Status DecodeTyped(
    const inference::ModelInferRequest::InferInputTensor& in,
    InputTensor* out) {
  absl::StatusOr<std::pair<std::string, size_t>> packed =
      PackContents(in.name(), in.datatype(), in.contents());
  if (!packed.ok()) return packed.status();
  // A shape with a dim < 1, or too many elements, is the validator's to
  // report, with the shape the model expects.
  const std::optional<int64_t> expected = ElementCount(in.shape());
  if (expected.value_or(0) > 0 &&
      static_cast<int64_t>(packed->second) != *expected) {
    return absl::InvalidArgumentError(
        absl::StrCat("input \"", in.name(), "\": contents has ", packed->second,
                     " values, shape needs ", *expected));
  }
  auto storage = std::make_shared<const std::string>(std::move(packed->first));
  out->data = *storage;
  out->storage = std::move(storage);
  return absl::OkStatus();
}

// Request parameter `name` as a count >= 0: Triton sends int64_param;
// uint64_param is accepted too.
absl::StatusOr<uint64_t> CountParameter(
    const std::string& name, const inference::InferParameter& parameter) {
  switch (parameter.parameter_choice_case()) {
    case inference::InferParameter::kInt64Param:
      if (parameter.int64_param() < 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            "parameter \"", name, "\": expected a value >= 0, got ",
            parameter.int64_param()));
      }
      return static_cast<uint64_t>(parameter.int64_param());
    case inference::InferParameter::kUint64Param:
      return parameter.uint64_param();
    case inference::InferParameter::PARAMETER_CHOICE_NOT_SET:
      break;
    default:
      return absl::InvalidArgumentError(absl::StrCat(
          "parameter \"", name,
          "\": expected int64_param or uint64_param, got ",
          parameter.GetDescriptor()
              ->FindFieldByNumber(parameter.parameter_choice_case())
              ->name()));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("parameter \"", name,
                   "\": expected int64_param or uint64_param, got no value"));
}

// Triton's schedule policy parameters.
absl::Status DecodeScheduleParameters(
    const inference::ModelInferRequest& request, InferRequest* out) {
  const auto& parameters = request.parameters();
  if (auto it = parameters.find("priority"); it != parameters.end()) {
    absl::StatusOr<uint64_t> priority = CountParameter(it->first, it->second);
    if (!priority.ok()) return priority.status();
    out->priority = *priority;
  }
  if (auto it = parameters.find("timeout"); it != parameters.end()) {
    absl::StatusOr<uint64_t> us = CountParameter(it->first, it->second);
    if (!us.ok()) return us.status();
    // Beyond int64 microseconds (292,000 years) is no timeout at all.
    out->timeout =
        *us > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())
            ? absl::InfiniteDuration()
            : absl::Microseconds(static_cast<int64_t>(*us));
  }
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
  if (absl::Status s = DecodeScheduleParameters(request, out); !s.ok()) {
    return s;
  }
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
      return absl::InvalidArgumentError(
          absl::StrCat("input \"", in.name(),
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
