#include "service/http_codec.h"

#include <cstring>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/model_config.pb.h"

namespace inferd::http_codec {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

template <typename T>
std::string Raw(const std::vector<T>& values) {
  std::string bytes(values.size() * sizeof(T), '\0');
  std::memcpy(bytes.data(), values.data(), bytes.size());
  return bytes;
}

absl::Status Decode(const std::string& body, InferRequest* out,
                    std::optional<size_t> json_length = std::nullopt) {
  return DecodeInferRequest(body, json_length, out);
}

std::string DecodeError(const std::string& body,
                        std::optional<size_t> json_length = std::nullopt) {
  InferRequest request;
  absl::Status status = Decode(body, &request, json_length);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << body;
  return std::string(status.message());
}

TEST(DecodeInferRequestTest, JsonDataBecomesRawContents) {
  InferRequest request;
  ASSERT_TRUE(Decode(R"({"id": "r1",
      "parameters": {"priority": 2, "binary_data_output": true, "x": "y"},
      "inputs": [
        {"name": "a", "datatype": "FP32", "shape": [2, 2],
         "data": [[1, 2.5], [3, -4]]},
        {"name": "b", "datatype": "INT8", "shape": [3], "data": [-128, 0, 127]},
        {"name": "c", "datatype": "BYTES", "shape": [2], "data": ["hi", ""]},
        {"name": "d", "datatype": "BOOL", "shape": [2], "data": [true, false]}],
      "outputs": [{"name": "y", "parameters": {"classification": 3,
                                                "binary_data": false}}]})",
                     &request)
                  .ok());
  const inference::ModelInferRequest& r = request.request;
  EXPECT_EQ(r.id(), "r1");
  ASSERT_EQ(r.inputs_size(), 4);
  EXPECT_THAT(r.inputs(0).shape(), ::testing::ElementsAre(2, 2));
  EXPECT_EQ(r.raw_input_contents(0), Raw<float>({1, 2.5, 3, -4}));
  EXPECT_EQ(r.raw_input_contents(1), Raw<int8_t>({-128, 0, 127}));
  EXPECT_EQ(r.raw_input_contents(2), std::string("\2\0\0\0hi\0\0\0\0", 10));
  EXPECT_EQ(r.raw_input_contents(3), std::string("\1\0", 2));
  // Request parameters pass through, except the HTTP-only one.
  EXPECT_EQ(r.parameters().at("priority").int64_param(), 2);
  EXPECT_EQ(r.parameters().at("x").string_param(), "y");
  EXPECT_FALSE(r.parameters().contains("binary_data_output"));
  EXPECT_TRUE(request.all_binary);
  ASSERT_EQ(r.outputs_size(), 1);
  EXPECT_EQ(r.outputs(0).parameters().at("classification").int64_param(), 3);
  EXPECT_FALSE(r.outputs(0).parameters().contains("binary_data"));
  EXPECT_TRUE(request.json_outputs.contains("y"));
}

TEST(DecodeInferRequestTest, BinaryInputsFollowTheJson) {
  const std::string header = R"({"inputs": [
      {"name": "a", "datatype": "FP32", "shape": [2],
       "parameters": {"binary_data_size": 8}},
      {"name": "b", "datatype": "INT32", "shape": [1], "data": [7]},
      {"name": "c", "datatype": "FP16", "shape": [1],
       "parameters": {"binary_data_size": 2}}]})";
  const std::string body =
      header + Raw<float>({1.5, 2}) + std::string("\x00\x3c", 2);
  InferRequest request;
  ASSERT_TRUE(Decode(body, &request, header.size()).ok());
  EXPECT_EQ(request.request.raw_input_contents(0), Raw<float>({1.5, 2}));
  EXPECT_EQ(request.request.raw_input_contents(1), Raw<int32_t>({7}));
  EXPECT_EQ(request.request.raw_input_contents(2), std::string("\x00\x3c", 2));
  EXPECT_FALSE(
      request.request.inputs(0).parameters().contains("binary_data_size"));

  EXPECT_THAT(DecodeError(body, header.size() - 1), HasSubstr("malformed"));
  EXPECT_THAT(DecodeError(body, body.size() + 1),
              HasSubstr("is more than the body's"));
  EXPECT_THAT(DecodeError(body + "xx", header.size()),
              HasSubstr("2 bytes of binary data after the JSON belong to no"));
  EXPECT_THAT(DecodeError(header + "abc", header.size()),
              HasSubstr("binary_data_size 8 is more than the 3 binary bytes"));
}

TEST(DecodeInferRequestTest, NamesWhatIsWrong) {
  EXPECT_THAT(DecodeError("{\"inputs\": ["), HasSubstr("malformed JSON"));
  EXPECT_THAT(DecodeError(std::string(100, '[') + std::string(100, ']')),
              HasSubstr("nested more than 64 levels"));
  EXPECT_THAT(DecodeError("[1]"), HasSubstr("must be a JSON object"));
  EXPECT_THAT(DecodeError("{}"), HasSubstr("needs \"inputs\""));
  EXPECT_THAT(DecodeError(R"({"inputs": [{"datatype": "FP32"}]})"),
              HasSubstr("inputs[0]: needs \"name\""));
  EXPECT_THAT(
      DecodeError(R"({"inputs": [{"name": "a", "shape": [1], "data": [1]}]})"),
      HasSubstr("input \"a\": needs \"datatype\""));
  EXPECT_THAT(DecodeError(R"({"inputs": [{"name": "a", "datatype": "FP33",
                                         "shape": [1], "data": [1]}]})"),
              HasSubstr("unknown datatype \"FP33\""));
  EXPECT_THAT(DecodeError(R"({"inputs": [{"name": "a", "datatype": "FP32",
                                         "shape": [-1], "data": [1]}]})"),
              HasSubstr("non-negative integers, not -1"));
  EXPECT_THAT(DecodeError(R"({"inputs": [{"name": "a", "datatype": "INT8",
                                         "shape": [2], "data": [1, 128]}]})"),
              HasSubstr("input \"a\" element 1: out of range for INT8: 128"));
  EXPECT_THAT(DecodeError(R"({"inputs": [{"name": "a", "datatype": "UINT8",
                                         "shape": [1], "data": [-1]}]})"),
              HasSubstr("out of range for UINT8"));
  EXPECT_THAT(DecodeError(R"({"inputs": [{"name": "a", "datatype": "FP32",
                                         "shape": [1], "data": ["x"]}]})"),
              HasSubstr("element 0: not a FP32 value: \"x\""));
  EXPECT_THAT(DecodeError(R"({"inputs": [{"name": "a", "datatype": "INT32",
                                         "shape": [1], "data": [1.5]}]})"),
              HasSubstr("not a INT32 value: 1.5"));
  EXPECT_THAT(DecodeError(R"({"inputs": [{"name": "a", "datatype": "FP16",
                                         "shape": [1], "data": [1]}]})"),
              HasSubstr("FP16 data has no JSON form"));
  EXPECT_THAT(DecodeError(R"({"inputs": [{"name": "a", "datatype": "FP32",
                                         "shape": [1]}]})"),
              HasSubstr("needs \"data\" or parameters.binary_data_size"));
  EXPECT_THAT(
      DecodeError(R"({"parameters": {"p": [1]}, "inputs": []})"),
      HasSubstr("parameter \"p\": must be a boolean, number or string"));
  EXPECT_THAT(DecodeError(R"({"inputs": [], "outputs": [{"name": "y",
                            "parameters": {"binary_data": 1}}]})"),
              HasSubstr("binary_data must be true or false"));
  // A long client string is quoted cut.
  const std::string name(5000, 'n');
  EXPECT_THAT(DecodeError(R"({"inputs": [{"name": ")" + name +
                          R"(", "shape": [1], "data": [1]}]})"),
              HasSubstr("... (5000 bytes)\""));
}

TEST(DecodeInferRequestTest, ShapeIsCheckedByTheModelNotHere) {
  // The element count against the shape is ServableModel's check, shared
  // with gRPC; the codec only converts.
  InferRequest request;
  EXPECT_TRUE(Decode(R"({"inputs": [{"name": "a", "datatype": "FP32",
                                     "shape": [3], "data": [1]}]})",
                     &request)
                  .ok());
  EXPECT_EQ(request.request.raw_input_contents(0).size(), 4u);
}

TEST(EncodeInferRequestTest, RoundTripsThroughTheDecoder) {
  inference::ModelInferRequest request;
  request.set_id("r9");
  (*request.mutable_parameters())["priority"].set_int64_param(1);
  auto* x = request.add_inputs();
  x->set_name("x");
  x->set_datatype("FP32");
  x->add_shape(1);
  x->add_shape(3);
  request.add_raw_input_contents(Raw<float>({0.5, -1, 3.25}));
  auto* s = request.add_inputs();
  s->set_name("s");
  s->set_datatype("BYTES");
  s->add_shape(1);
  request.add_raw_input_contents(std::string("\2\0\0\0ok", 6));
  for (bool binary : {false, true}) {
    Body body = EncodeInferRequest(request, binary);
    EXPECT_EQ(body.json_length.has_value(), binary);
    InferRequest decoded;
    ASSERT_TRUE(DecodeInferRequest(body.bytes, body.json_length, &decoded).ok())
        << body.bytes;
    EXPECT_EQ(decoded.all_binary, binary);
    EXPECT_EQ(decoded.request.id(), "r9");
    EXPECT_EQ(decoded.request.parameters().at("priority").int64_param(), 1);
    ASSERT_EQ(decoded.request.raw_input_contents_size(), 2);
    EXPECT_EQ(decoded.request.raw_input_contents(0),
              request.raw_input_contents(0));
    EXPECT_EQ(decoded.request.raw_input_contents(1),
              request.raw_input_contents(1));
    EXPECT_THAT(decoded.request.inputs(0).shape(),
                ::testing::ElementsAre(1, 3));
  }
}

inference::ModelInferResponse TwoOutputs() {
  inference::ModelInferResponse response;
  response.set_model_name("m");
  response.set_model_version("1");
  response.set_id("r1");
  auto* probabilities = response.add_outputs();
  probabilities->set_name("p");
  probabilities->set_datatype("FP32");
  probabilities->add_shape(1);
  probabilities->add_shape(2);
  response.add_raw_output_contents(Raw<float>({0.25, 0.75}));
  auto* labels = response.add_outputs();
  labels->set_name("l");
  labels->set_datatype("BYTES");
  labels->add_shape(1);
  response.add_raw_output_contents(std::string("\3\0\0\0cat", 7));
  return response;
}

TEST(EncodeInferResponseTest, JsonOutputs) {
  Body body = EncodeInferResponse(TwoOutputs(), {});
  EXPECT_FALSE(body.json_length.has_value());
  const json parsed = json::parse(body.bytes);
  EXPECT_EQ(parsed["model_name"], "m");
  EXPECT_EQ(parsed["model_version"], "1");
  EXPECT_EQ(parsed["id"], "r1");
  EXPECT_EQ(parsed["outputs"][0]["shape"], json::array({1, 2}));
  EXPECT_EQ(parsed["outputs"][0]["data"], json::array({0.25, 0.75}));
  EXPECT_EQ(parsed["outputs"][1]["data"], json::array({"cat"}));
}

TEST(EncodeInferResponseTest, BinaryOutputsFollowTheJson) {
  InferRequest wanted;
  wanted.all_binary = true;
  wanted.json_outputs.insert("l");
  Body body = EncodeInferResponse(TwoOutputs(), wanted);
  ASSERT_TRUE(body.json_length.has_value());
  const json parsed = json::parse(body.bytes.substr(0, *body.json_length));
  EXPECT_EQ(parsed["outputs"][0]["parameters"]["binary_data_size"], 8);
  EXPECT_FALSE(parsed["outputs"][0].contains("data"));
  EXPECT_EQ(parsed["outputs"][1]["data"], json::array({"cat"}));
  EXPECT_EQ(body.bytes.substr(*body.json_length), Raw<float>({0.25, 0.75}));
}

TEST(EncodeInferResponseTest, HalfFloatsAsNumbers) {
  inference::ModelInferResponse response;
  auto* output = response.add_outputs();
  output->set_name("h");
  output->set_datatype("FP16");
  output->add_shape(3);
  // 1.0, -2.0, 0.5 in IEEE half precision.
  response.add_raw_output_contents(Raw<uint16_t>({0x3c00, 0xc000, 0x3800}));
  const json parsed = json::parse(EncodeInferResponse(response, {}).bytes);
  EXPECT_EQ(parsed["outputs"][0]["data"], json::array({1.0, -2.0, 0.5}));
}

TEST(ToJsonTest, IntegersAsNumbersEnumsByNameMapsAsObjects) {
  inference::ModelConfig config;
  config.set_name("m");
  config.set_max_batch_size(8);
  auto* input = config.add_input();
  input->set_name("x");
  input->set_data_type(inference::TYPE_FP32);
  input->add_dims(4);
  config.mutable_dynamic_batching()->set_max_queue_delay_microseconds(500);
  (*config.mutable_parameters())["k"].set_string_value("v");
  const json out = ToJson(config);
  EXPECT_EQ(out["max_batch_size"], 8);
  EXPECT_EQ(out["input"][0]["data_type"], "TYPE_FP32");
  EXPECT_EQ(out["input"][0]["dims"], json::array({4}));
  EXPECT_EQ(out["dynamic_batching"]["max_queue_delay_microseconds"], 500);
  EXPECT_EQ(out["parameters"]["k"]["string_value"], "v");
  // Scalars at their default are present; unset messages are not.
  EXPECT_EQ(out["platform"], "");
  EXPECT_FALSE(out.contains("version_policy"));
  EXPECT_TRUE(out.contains("dynamic_batching"));
}

TEST(HttpStatusTest, TritonsMapping) {
  EXPECT_EQ(HttpStatus(absl::StatusCode::kInvalidArgument), 400);
  EXPECT_EQ(HttpStatus(absl::StatusCode::kNotFound), 404);
  EXPECT_EQ(HttpStatus(absl::StatusCode::kUnavailable), 503);
  EXPECT_EQ(HttpStatus(absl::StatusCode::kResourceExhausted), 429);
  EXPECT_EQ(HttpStatus(absl::StatusCode::kUnimplemented), 501);
  EXPECT_EQ(HttpStatus(absl::StatusCode::kPermissionDenied), 403);
  EXPECT_EQ(HttpStatus(absl::StatusCode::kInternal), 500);
  EXPECT_EQ(json::parse(ErrorBody("bad \"x\""))["error"], "bad \"x\"");
}

}  // namespace
}  // namespace inferd::http_codec
