#include "service/http_codec.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/client_text.h"
#include "model_store/data_type.h"

namespace inferd::http_codec {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;
using nlohmann::json;

// Client text in an error message, in quotes (see ClientText).
std::string Quote(absl::string_view text) {
  return absl::StrCat("\"", ClientText(text), "\"");
}

absl::Status Invalid(absl::string_view where, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(where, ": ", what));
}

template <typename T>
void AppendRaw(T value, std::string* out) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));  // little-endian hosts only
  out->append(bytes, sizeof(T));
}

template <typename T>
T ReadRaw(const char* bytes) {
  T value;
  std::memcpy(&value, bytes, sizeof(T));
  return value;
}

// Appends one JSON element as `type`'s little-endian bytes.
absl::Status AppendElement(const json& element, inference::DataType type,
                           std::string* out) {
  auto integer = [&](auto least, auto most) -> absl::Status {
    using T = decltype(least);
    if (element.is_number_unsigned()) {
      const uint64_t v = element.get<uint64_t>();
      if (v > static_cast<uint64_t>(most)) return absl::OutOfRangeError("");
      AppendRaw(static_cast<T>(v), out);
    } else if (element.is_number_integer()) {
      const int64_t v = element.get<int64_t>();
      if (v < static_cast<int64_t>(least) ||
          (v > 0 && static_cast<uint64_t>(v) > static_cast<uint64_t>(most))) {
        return absl::OutOfRangeError("");
      }
      AppendRaw(static_cast<T>(v), out);
    } else {
      return absl::InvalidArgumentError("");
    }
    return absl::OkStatus();
  };
  switch (type) {
    case inference::TYPE_BOOL:
      if (!element.is_boolean()) return absl::InvalidArgumentError("");
      out->push_back(element.get<bool>() ? 1 : 0);
      return absl::OkStatus();
    case inference::TYPE_INT8:
      return integer(int8_t{INT8_MIN}, int8_t{INT8_MAX});
    case inference::TYPE_INT16:
      return integer(int16_t{INT16_MIN}, int16_t{INT16_MAX});
    case inference::TYPE_INT32:
      return integer(int32_t{INT32_MIN}, int32_t{INT32_MAX});
    case inference::TYPE_INT64:
      return integer(int64_t{INT64_MIN}, int64_t{INT64_MAX});
    case inference::TYPE_UINT8:
      return integer(uint8_t{0}, uint8_t{UINT8_MAX});
    case inference::TYPE_UINT16:
      return integer(uint16_t{0}, uint16_t{UINT16_MAX});
    case inference::TYPE_UINT32:
      return integer(uint32_t{0}, uint32_t{UINT32_MAX});
    case inference::TYPE_UINT64:
      return integer(uint64_t{0}, uint64_t{UINT64_MAX});
    case inference::TYPE_FP32:
      if (!element.is_number()) return absl::InvalidArgumentError("");
      AppendRaw(element.get<float>(), out);
      return absl::OkStatus();
    case inference::TYPE_FP64:
      if (!element.is_number()) return absl::InvalidArgumentError("");
      AppendRaw(element.get<double>(), out);
      return absl::OkStatus();
    case inference::TYPE_STRING: {
      if (!element.is_string()) return absl::InvalidArgumentError("");
      const std::string& text = element.get_ref<const std::string&>();
      AppendRaw(static_cast<uint32_t>(text.size()), out);
      out->append(text);
      return absl::OkStatus();
    }
    default:
      return absl::UnimplementedError("");
  }
}

// Appends `data` (a JSON array, maybe nested, in row-major order) as raw
// bytes of `type`; counts the elements.
absl::Status AppendData(const json& data, inference::DataType type,
                        const std::string& input, int64_t* count,
                        std::string* out) {
  if (!data.is_array()) {
    absl::Status s = AppendElement(data, type, out);
    if (s.ok()) {
      ++*count;
      return s;
    }
    const std::string wanted = WireName(type);
    if (absl::IsUnimplemented(s)) {
      return Invalid(absl::StrCat("input ", Quote(input)),
                     absl::StrCat(wanted,
                                  " data has no JSON form; send it as binary "
                                  "data (parameters.binary_data_size)"));
    }
    return Invalid(
        absl::StrCat("input ", Quote(input), " element ", *count),
        absl::StrCat(absl::IsOutOfRange(s) ? "out of range for " : "not a ",
                     wanted, absl::IsOutOfRange(s) ? "" : " value", ": ",
                     ClientText(data.dump())));
  }
  for (const json& element : data) {
    if (absl::Status s = AppendData(element, type, input, count, out);
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

// A JSON parameter as the protocol's InferParameter.
absl::Status ToParameter(const std::string& name, const json& value,
                         inference::InferParameter* out) {
  if (value.is_boolean()) {
    out->set_bool_param(value.get<bool>());
  } else if (value.is_number_unsigned()) {
    const uint64_t v = value.get<uint64_t>();
    if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      out->set_uint64_param(v);
    } else {
      out->set_int64_param(static_cast<int64_t>(v));
    }
  } else if (value.is_number_integer()) {
    out->set_int64_param(value.get<int64_t>());
  } else if (value.is_number_float()) {
    out->set_double_param(value.get<double>());
  } else if (value.is_string()) {
    out->set_string_param(value.get<std::string>());
  } else {
    return Invalid(absl::StrCat("parameter ", Quote(name)),
                   "must be a boolean, number or string");
  }
  return absl::OkStatus();
}

// Copies the object `parameters` into `out`, except the keys in `skip`.
absl::Status CopyParameters(
    const json& parameters, absl::string_view where,
    std::initializer_list<absl::string_view> skip,
    google::protobuf::Map<std::string, inference::InferParameter>* out) {
  if (!parameters.is_object()) {
    return Invalid(where, "\"parameters\" must be an object");
  }
  for (const auto& [key, value] : parameters.items()) {
    if (std::find(skip.begin(), skip.end(), key) != skip.end()) continue;
    if (absl::Status s = ToParameter(key, value, &(*out)[key]); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

const json* Member(const json& object, const char* key) {
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

absl::Status DecodeInput(const json& input, int index,
                         absl::string_view* binary,
                         inference::ModelInferRequest* out) {
  const std::string where = absl::StrCat("inputs[", index, "]");
  if (!input.is_object()) return Invalid(where, "must be an object");
  const json* name = Member(input, "name");
  const json* datatype = Member(input, "datatype");
  const json* shape = Member(input, "shape");
  if (name == nullptr || !name->is_string()) {
    return Invalid(where, "needs \"name\", a string");
  }
  auto* tensor = out->add_inputs();
  tensor->set_name(name->get<std::string>());
  const std::string what = absl::StrCat("input ", Quote(tensor->name()));
  if (datatype == nullptr || !datatype->is_string()) {
    return Invalid(what, "needs \"datatype\", a string such as \"FP32\"");
  }
  tensor->set_datatype(datatype->get<std::string>());
  const inference::DataType type = FromWireName(tensor->datatype());
  if (type == inference::TYPE_INVALID) {
    return Invalid(
        what, absl::StrCat("unknown datatype ", Quote(tensor->datatype())));
  }
  if (shape == nullptr || !shape->is_array()) {
    return Invalid(what, "needs \"shape\", an array of dimensions");
  }
  for (const json& dim : *shape) {
    if (!dim.is_number_integer() || dim.get<int64_t>() < 0) {
      return Invalid(what, absl::StrCat("shape must hold non-negative "
                                        "integers, not ",
                                        ClientText(dim.dump())));
    }
    tensor->add_shape(dim.get<int64_t>());
  }
  std::string* raw = out->add_raw_input_contents();
  const json* parameters = Member(input, "parameters");
  const json* binary_size = parameters != nullptr && parameters->is_object()
                                ? Member(*parameters, "binary_data_size")
                                : nullptr;
  if (parameters != nullptr) {
    if (absl::Status s = CopyParameters(*parameters, what, {"binary_data_size"},
                                        tensor->mutable_parameters());
        !s.ok()) {
      return s;
    }
  }
  const json* data = Member(input, "data");
  if (binary_size != nullptr) {
    if (data != nullptr) {
      return Invalid(what, "has both \"data\" and binary_data_size");
    }
    if (!binary_size->is_number_unsigned()) {
      return Invalid(what, "binary_data_size must be a non-negative integer");
    }
    const uint64_t size = binary_size->get<uint64_t>();
    if (size > binary->size()) {
      return Invalid(
          what, absl::StrCat("binary_data_size ", size, " is more than the ",
                             binary->size(), " binary bytes left in the body"));
    }
    raw->assign(binary->data(), size);
    binary->remove_prefix(size);
    return absl::OkStatus();
  }
  if (data == nullptr) {
    return Invalid(what, "needs \"data\" or parameters.binary_data_size");
  }
  int64_t count = 0;
  return AppendData(*data, type, tensor->name(), &count, raw);
}

absl::Status DecodeOutput(const json& output, int index, InferRequest* out) {
  const std::string where = absl::StrCat("outputs[", index, "]");
  if (!output.is_object()) return Invalid(where, "must be an object");
  const json* name = Member(output, "name");
  if (name == nullptr || !name->is_string()) {
    return Invalid(where, "needs \"name\", a string");
  }
  auto* wanted = out->request.add_outputs();
  wanted->set_name(name->get<std::string>());
  const json* parameters = Member(output, "parameters");
  if (parameters == nullptr) return absl::OkStatus();
  const std::string what = absl::StrCat("output ", Quote(wanted->name()));
  if (absl::Status s = CopyParameters(*parameters, what, {"binary_data"},
                                      wanted->mutable_parameters());
      !s.ok()) {
    return s;
  }
  if (const json* binary = Member(*parameters, "binary_data")) {
    if (!binary->is_boolean()) {
      return Invalid(what, "binary_data must be true or false");
    }
    (binary->get<bool>() ? out->binary_outputs : out->json_outputs)
        .insert(wanted->name());
  }
  return absl::OkStatus();
}

float HalfToFloat(uint16_t half) {
  const int exponent = (half >> 10) & 0x1f;
  const int mantissa = half & 0x3ff;
  float value;
  if (exponent == 0) {
    value = std::ldexp(static_cast<float>(mantissa), -24);
  } else if (exponent == 31) {
    value = mantissa == 0 ? std::numeric_limits<float>::infinity()
                          : std::numeric_limits<float>::quiet_NaN();
  } else {
    value = std::ldexp(static_cast<float>(mantissa + 1024), exponent - 25);
  }
  return (half & 0x8000) ? -value : value;
}

}  // namespace

json RawToJson(const std::string& raw, inference::DataType type) {
  json data = json::array();
  const char* p = raw.data();
  const char* end = p + raw.size();
  auto each = [&](auto tag) {
    using T = decltype(tag);
    for (; p + sizeof(T) <= end; p += sizeof(T)) {
      data.push_back(ReadRaw<T>(p));
    }
  };
  switch (type) {
    case inference::TYPE_BOOL:
      for (; p < end; ++p) data.push_back(*p != 0);
      break;
    case inference::TYPE_INT8:
      each(int8_t{});
      break;
    case inference::TYPE_INT16:
      each(int16_t{});
      break;
    case inference::TYPE_INT32:
      each(int32_t{});
      break;
    case inference::TYPE_INT64:
      each(int64_t{});
      break;
    case inference::TYPE_UINT8:
      each(uint8_t{});
      break;
    case inference::TYPE_UINT16:
      each(uint16_t{});
      break;
    case inference::TYPE_UINT32:
      each(uint32_t{});
      break;
    case inference::TYPE_UINT64:
      each(uint64_t{});
      break;
    case inference::TYPE_FP32:
      each(float{});
      break;
    case inference::TYPE_FP64:
      each(double{});
      break;
    case inference::TYPE_FP16:
      for (; p + 2 <= end; p += 2) {
        data.push_back(HalfToFloat(ReadRaw<uint16_t>(p)));
      }
      break;
    case inference::TYPE_BF16:
      for (; p + 2 <= end; p += 2) {
        const uint32_t bits = static_cast<uint32_t>(ReadRaw<uint16_t>(p)) << 16;
        float value;
        std::memcpy(&value, &bits, sizeof(value));
        data.push_back(value);
      }
      break;
    case inference::TYPE_STRING:
      while (p + 4 <= end) {
        const uint32_t length = ReadRaw<uint32_t>(p);
        p += 4;
        if (length > static_cast<size_t>(end - p)) break;
        data.push_back(std::string(p, length));
        p += length;
      }
      break;
    default:
      break;
  }
  return data;
}

namespace {

json ParameterToJson(const inference::InferParameter& parameter) {
  switch (parameter.parameter_choice_case()) {
    case inference::InferParameter::kBoolParam:
      return parameter.bool_param();
    case inference::InferParameter::kInt64Param:
      return parameter.int64_param();
    case inference::InferParameter::kStringParam:
      return parameter.string_param();
    case inference::InferParameter::kDoubleParam:
      return parameter.double_param();
    case inference::InferParameter::kUint64Param:
      return parameter.uint64_param();
    default:
      return nullptr;
  }
}

json FieldValue(const Message& message, const FieldDescriptor* field,
                int index);

json FieldValue(const Message& message, const FieldDescriptor* field,
                int index) {
  const Reflection* r = message.GetReflection();
  const bool repeated = index >= 0;
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return repeated ? r->GetRepeatedInt32(message, field, index)
                      : r->GetInt32(message, field);
    case FieldDescriptor::CPPTYPE_INT64:
      return repeated ? r->GetRepeatedInt64(message, field, index)
                      : r->GetInt64(message, field);
    case FieldDescriptor::CPPTYPE_UINT32:
      return repeated ? r->GetRepeatedUInt32(message, field, index)
                      : r->GetUInt32(message, field);
    case FieldDescriptor::CPPTYPE_UINT64:
      return repeated ? r->GetRepeatedUInt64(message, field, index)
                      : r->GetUInt64(message, field);
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return repeated ? r->GetRepeatedDouble(message, field, index)
                      : r->GetDouble(message, field);
    case FieldDescriptor::CPPTYPE_FLOAT:
      return repeated ? r->GetRepeatedFloat(message, field, index)
                      : r->GetFloat(message, field);
    case FieldDescriptor::CPPTYPE_BOOL:
      return repeated ? r->GetRepeatedBool(message, field, index)
                      : r->GetBool(message, field);
    case FieldDescriptor::CPPTYPE_ENUM:
      return (repeated ? r->GetRepeatedEnum(message, field, index)
                       : r->GetEnum(message, field))
          ->name();
    case FieldDescriptor::CPPTYPE_STRING:
      return repeated ? r->GetRepeatedString(message, field, index)
                      : r->GetString(message, field);
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return ToJson(repeated ? r->GetRepeatedMessage(message, field, index)
                             : r->GetMessage(message, field));
  }
  return nullptr;
}

}  // namespace

absl::StatusOr<json> ParseJson(absl::string_view text) {
  json::parser_callback_t depth_check = [](int depth, json::parse_event_t,
                                           json&) {
    if (depth > kMaxJsonDepth) throw std::length_error("too deep");
    return true;
  };
  try {
    return json::parse(text.begin(), text.end(), depth_check);
  } catch (const std::length_error&) {
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed JSON: ", e.what()));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("JSON nested more than ", kMaxJsonDepth, " levels deep"));
}

absl::Status DecodeInferRequest(absl::string_view body,
                                std::optional<size_t> json_length,
                                InferRequest* out) {
  if (json_length.has_value() && *json_length > body.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("Inference-Header-Content-Length ", *json_length,
                     " is more than the body's ", body.size(), " bytes"));
  }
  absl::string_view binary =
      json_length.has_value() ? body.substr(*json_length) : "";
  absl::StatusOr<json> parsed =
      ParseJson(json_length.has_value() ? body.substr(0, *json_length) : body);
  if (!parsed.ok()) return parsed.status();
  const json& root = *parsed;
  if (!root.is_object()) {
    return absl::InvalidArgumentError("the request must be a JSON object");
  }
  inference::ModelInferRequest& request = out->request;
  if (const json* id = Member(root, "id")) {
    if (!id->is_string()) return Invalid("id", "must be a string");
    request.set_id(id->get<std::string>());
  }
  if (const json* parameters = Member(root, "parameters")) {
    if (absl::Status s =
            CopyParameters(*parameters, "request", {"binary_data_output"},
                           request.mutable_parameters());
        !s.ok()) {
      return s;
    }
    if (const json* all = Member(*parameters, "binary_data_output")) {
      if (!all->is_boolean()) {
        return Invalid("binary_data_output", "must be true or false");
      }
      out->all_binary = all->get<bool>();
    }
  }
  const json* inputs = Member(root, "inputs");
  if (inputs == nullptr || !inputs->is_array()) {
    return absl::InvalidArgumentError(
        "the request needs \"inputs\", an array of tensors");
  }
  for (size_t i = 0; i < inputs->size(); ++i) {
    if (absl::Status s =
            DecodeInput((*inputs)[i], static_cast<int>(i), &binary, &request);
        !s.ok()) {
      return s;
    }
  }
  if (!binary.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(binary.size(),
                     " bytes of binary data after the JSON belong to no input "
                     "(binary_data_size)"));
  }
  if (const json* outputs = Member(root, "outputs")) {
    if (!outputs->is_array()) return Invalid("outputs", "must be an array");
    for (size_t i = 0; i < outputs->size(); ++i) {
      if (absl::Status s =
              DecodeOutput((*outputs)[i], static_cast<int>(i), out);
          !s.ok()) {
        return s;
      }
    }
  }
  return absl::OkStatus();
}

Body EncodeInferResponse(const inference::ModelInferResponse& response,
                         const InferRequest& wanted) {
  json root = json::object();
  root["model_name"] = response.model_name();
  root["model_version"] = response.model_version();
  if (!response.id().empty()) root["id"] = response.id();
  if (!response.parameters().empty()) {
    json parameters = json::object();
    for (const auto& [key, value] : response.parameters()) {
      parameters[key] = ParameterToJson(value);
    }
    root["parameters"] = std::move(parameters);
  }
  json outputs = json::array();
  std::string binary;
  for (int i = 0; i < response.outputs_size(); ++i) {
    const auto& output = response.outputs(i);
    const std::string& raw = i < response.raw_output_contents_size()
                                 ? response.raw_output_contents(i)
                                 : std::string();
    json tensor = {{"name", output.name()},
                   {"datatype", output.datatype()},
                   {"shape", std::vector<int64_t>(output.shape().begin(),
                                                  output.shape().end())}};
    const bool as_binary =
        wanted.binary_outputs.contains(output.name()) ||
        (wanted.all_binary && !wanted.json_outputs.contains(output.name()));
    if (as_binary) {
      tensor["parameters"] = {{"binary_data_size", raw.size()}};
      binary.append(raw);
    } else {
      tensor["data"] = RawToJson(raw, FromWireName(output.datatype()));
    }
    outputs.push_back(std::move(tensor));
  }
  root["outputs"] = std::move(outputs);
  Body body;
  body.bytes = root.dump(-1, ' ', false, json::error_handler_t::replace);
  if (!binary.empty() || wanted.all_binary || !wanted.binary_outputs.empty()) {
    body.json_length = body.bytes.size();
    body.bytes.append(binary);
  }
  return body;
}

Body EncodeInferRequest(const inference::ModelInferRequest& request,
                        bool binary) {
  json root = json::object();
  if (!request.id().empty()) root["id"] = request.id();
  json parameters = json::object();
  for (const auto& [key, value] : request.parameters()) {
    parameters[key] = ParameterToJson(value);
  }
  if (binary) parameters["binary_data_output"] = true;
  if (!parameters.empty()) root["parameters"] = std::move(parameters);
  json inputs = json::array();
  std::string tail;
  for (int i = 0; i < request.inputs_size(); ++i) {
    const auto& input = request.inputs(i);
    const std::string& raw = i < request.raw_input_contents_size()
                                 ? request.raw_input_contents(i)
                                 : std::string();
    json tensor = {{"name", input.name()},
                   {"datatype", input.datatype()},
                   {"shape", std::vector<int64_t>(input.shape().begin(),
                                                  input.shape().end())}};
    if (binary) {
      tensor["parameters"] = {{"binary_data_size", raw.size()}};
      tail.append(raw);
    } else {
      tensor["data"] = RawToJson(raw, FromWireName(input.datatype()));
    }
    inputs.push_back(std::move(tensor));
  }
  root["inputs"] = std::move(inputs);
  Body body;
  body.bytes = root.dump();
  if (binary) {
    body.json_length = body.bytes.size();
    body.bytes.append(tail);
  }
  return body;
}

json ToJson(const Message& message) {
  json out = json::object();
  const auto* descriptor = message.GetDescriptor();
  const Reflection* r = message.GetReflection();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* field = descriptor->field(i);
    if (field->is_map()) {
      json map = json::object();
      const FieldDescriptor* key = field->message_type()->map_key();
      const FieldDescriptor* value = field->message_type()->map_value();
      for (int j = 0; j < r->FieldSize(message, field); ++j) {
        const Message& entry = r->GetRepeatedMessage(message, field, j);
        json k = FieldValue(entry, key, -1);
        map[k.is_string() ? k.get<std::string>() : k.dump()] =
            FieldValue(entry, value, -1);
      }
      out[field->name()] = std::move(map);
    } else if (field->is_repeated()) {
      json list = json::array();
      for (int j = 0; j < r->FieldSize(message, field); ++j) {
        list.push_back(FieldValue(message, field, j));
      }
      out[field->name()] = std::move(list);
    } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE ||
               field->real_containing_oneof() != nullptr) {
      if (r->HasField(message, field)) {
        out[field->name()] = FieldValue(message, field, -1);
      }
    } else {
      out[field->name()] = FieldValue(message, field, -1);
    }
  }
  return out;
}

std::string ErrorBody(absl::string_view message) {
  return json{{"error", message}}.dump(-1, ' ', false,
                                       json::error_handler_t::replace);
}

int HttpStatus(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kUnavailable:
      return 503;
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kUnimplemented:
      return 501;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kDataLoss:
      return 500;
    case absl::StatusCode::kDeadlineExceeded:
      return 504;
    default:
      // INVALID_ARGUMENT, FAILED_PRECONDITION, ALREADY_EXISTS, CANCELLED...
      return 400;
  }
}

}  // namespace inferd::http_codec
