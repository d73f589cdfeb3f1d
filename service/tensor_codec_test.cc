#include "service/tensor_codec.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace inferd {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

using InputProto = inference::ModelInferRequest::InferInputTensor;

// Bytes spelled out, so the expected little-endian layout does not depend on
// the host's byte order.
std::string Bytes(std::vector<uint8_t> bytes) {
  return std::string(bytes.begin(), bytes.end());
}

InputProto* AddInput(inference::ModelInferRequest* request,
                     const std::string& name, const std::string& datatype,
                     std::vector<int64_t> shape) {
  InputProto* input = request->add_inputs();
  input->set_name(name);
  input->set_datatype(datatype);
  for (int64_t dim : shape) input->add_shape(dim);
  return input;
}

// Decodes a request holding one typed input and returns its bytes.
std::string DecodeOneTyped(const inference::ModelInferRequest& request) {
  InferRequest decoded;
  absl::Status status = DecodeInferRequest(request, &decoded);
  EXPECT_TRUE(status.ok()) << status;
  if (!status.ok() || decoded.inputs.size() != 1) return "<failed>";
  const InputTensor& tensor = decoded.inputs[0];
  // Typed contents are converted into storage the tensor owns.
  EXPECT_NE(tensor.storage, nullptr);
  if (tensor.storage != nullptr) {
    EXPECT_EQ(tensor.data.data(), tensor.storage->data());
  }
  return std::string(tensor.data);
}

void ExpectInvalid(const absl::Status& status, const std::string& substring) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr(substring));
}

// --- Request metadata and raw inputs
// -------------------------------------------

TEST(DecodeInferRequestTest, CopiesModelNameVersionAndId) {
  inference::ModelInferRequest request;
  request.set_model_name("iris");
  request.set_model_version("3");
  request.set_id("req-7");
  InferRequest decoded;
  ASSERT_TRUE(DecodeInferRequest(request, &decoded).ok());
  EXPECT_EQ(decoded.model_name, "iris");
  EXPECT_EQ(decoded.model_version, "3");
  EXPECT_EQ(decoded.id, "req-7");
  EXPECT_TRUE(decoded.inputs.empty());
  EXPECT_TRUE(decoded.outputs.empty());
}

TEST(DecodeInferRequestTest, RawInputsPointIntoTheRequest) {
  inference::ModelInferRequest request;
  AddInput(&request, "a", "FP32", {1, 2});
  AddInput(&request, "b", "INT64", {1});
  request.add_raw_input_contents(std::string(8, '\x01'));
  request.add_raw_input_contents(std::string(8, '\x02'));
  InferRequest decoded;
  ASSERT_TRUE(DecodeInferRequest(request, &decoded).ok());
  ASSERT_EQ(decoded.inputs.size(), 2u);
  for (int i = 0; i < 2; ++i) {
    const InputTensor& tensor = decoded.inputs[i];
    EXPECT_EQ(tensor.data.data(), request.raw_input_contents(i).data())
        << "input " << i << " was copied";
    EXPECT_EQ(tensor.data.size(), request.raw_input_contents(i).size());
    EXPECT_EQ(tensor.storage, nullptr);
  }
  EXPECT_EQ(decoded.inputs[0].name, "a");
  EXPECT_EQ(decoded.inputs[0].datatype, "FP32");
  EXPECT_THAT(decoded.inputs[0].shape, ElementsAre(1, 2));
  EXPECT_EQ(decoded.inputs[1].name, "b");
  EXPECT_EQ(decoded.inputs[1].datatype, "INT64");
  EXPECT_THAT(decoded.inputs[1].shape, ElementsAre(1));
}

TEST(DecodeInferRequestTest, RawFp16IsAccepted) {
  inference::ModelInferRequest request;
  AddInput(&request, "h", "FP16", {2});
  request.add_raw_input_contents(Bytes({0x00, 0x3c, 0x00, 0xc0}));
  InferRequest decoded;
  ASSERT_TRUE(DecodeInferRequest(request, &decoded).ok());
  EXPECT_EQ(std::string(decoded.inputs[0].data),
            Bytes({0x00, 0x3c, 0x00, 0xc0}));
}

TEST(DecodeInferRequestTest, RejectsRawEntryCountDifferentFromInputs) {
  inference::ModelInferRequest request;
  AddInput(&request, "a", "FP32", {1});
  AddInput(&request, "b", "FP32", {1});
  request.add_raw_input_contents(std::string(4, '\0'));
  InferRequest decoded;
  ExpectInvalid(DecodeInferRequest(request, &decoded),
                "raw_input_contents has 1 entries; expected one per input (2)");
}

TEST(DecodeInferRequestTest, RejectsMoreRawEntriesThanInputs) {
  inference::ModelInferRequest request;
  AddInput(&request, "a", "FP32", {1});
  request.add_raw_input_contents(std::string(4, '\0'));
  request.add_raw_input_contents(std::string(4, '\0'));
  InferRequest decoded;
  ExpectInvalid(DecodeInferRequest(request, &decoded),
                "raw_input_contents has 2 entries; expected one per input (1)");
}

TEST(DecodeInferRequestTest, RejectsRawMixedWithTypedContents) {
  inference::ModelInferRequest request;
  AddInput(&request, "a", "FP32", {1});
  AddInput(&request, "b", "FP32", {1})
      ->mutable_contents()
      ->add_fp32_contents(1);
  request.add_raw_input_contents(std::string(4, '\0'));
  request.add_raw_input_contents(std::string(4, '\0'));
  InferRequest decoded;
  ExpectInvalid(DecodeInferRequest(request, &decoded),
                "input \"b\": has typed contents, but the request also uses "
                "raw_input_contents");
}

// --- Typed contents
// ---------------------------------------------------------------

TEST(DecodeInferRequestTest, PacksBool) {
  inference::ModelInferRequest request;
  auto* c = AddInput(&request, "t", "BOOL", {3})->mutable_contents();
  c->add_bool_contents(true);
  c->add_bool_contents(false);
  c->add_bool_contents(true);
  EXPECT_EQ(DecodeOneTyped(request), Bytes({1, 0, 1}));
}

TEST(DecodeInferRequestTest, PacksInt8) {
  inference::ModelInferRequest request;
  auto* c = AddInput(&request, "t", "INT8", {3})->mutable_contents();
  c->add_int_contents(-1);
  c->add_int_contents(127);
  c->add_int_contents(-128);
  EXPECT_EQ(DecodeOneTyped(request), Bytes({0xff, 0x7f, 0x80}));
}

TEST(DecodeInferRequestTest, PacksInt16) {
  inference::ModelInferRequest request;
  auto* c = AddInput(&request, "t", "INT16", {2})->mutable_contents();
  c->add_int_contents(-2);
  c->add_int_contents(0x1234);
  EXPECT_EQ(DecodeOneTyped(request), Bytes({0xfe, 0xff, 0x34, 0x12}));
}

TEST(DecodeInferRequestTest, PacksInt32) {
  inference::ModelInferRequest request;
  auto* c = AddInput(&request, "t", "INT32", {2})->mutable_contents();
  c->add_int_contents(-2);
  c->add_int_contents(0x01020304);
  EXPECT_EQ(DecodeOneTyped(request),
            Bytes({0xfe, 0xff, 0xff, 0xff, 0x04, 0x03, 0x02, 0x01}));
}

TEST(DecodeInferRequestTest, PacksInt64) {
  inference::ModelInferRequest request;
  auto* c = AddInput(&request, "t", "INT64", {2})->mutable_contents();
  c->add_int64_contents(-3);
  c->add_int64_contents(0x0102030405060708);
  EXPECT_EQ(DecodeOneTyped(request),
            Bytes({0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,  //
                   0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01}));
}

TEST(DecodeInferRequestTest, PacksUint8) {
  inference::ModelInferRequest request;
  auto* c = AddInput(&request, "t", "UINT8", {2})->mutable_contents();
  c->add_uint_contents(255);
  c->add_uint_contents(1);
  EXPECT_EQ(DecodeOneTyped(request), Bytes({0xff, 0x01}));
}

TEST(DecodeInferRequestTest, PacksUint16) {
  inference::ModelInferRequest request;
  auto* c = AddInput(&request, "t", "UINT16", {2})->mutable_contents();
  c->add_uint_contents(0xabcd);
  c->add_uint_contents(1);
  EXPECT_EQ(DecodeOneTyped(request), Bytes({0xcd, 0xab, 0x01, 0x00}));
}

TEST(DecodeInferRequestTest, PacksUint32) {
  inference::ModelInferRequest request;
  auto* c = AddInput(&request, "t", "UINT32", {1})->mutable_contents();
  c->add_uint_contents(0xdeadbeef);
  EXPECT_EQ(DecodeOneTyped(request), Bytes({0xef, 0xbe, 0xad, 0xde}));
}

TEST(DecodeInferRequestTest, PacksUint64) {
  inference::ModelInferRequest request;
  auto* c = AddInput(&request, "t", "UINT64", {1})->mutable_contents();
  c->add_uint64_contents(0xf102030405060708u);
  EXPECT_EQ(DecodeOneTyped(request),
            Bytes({0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0xf1}));
}

TEST(DecodeInferRequestTest, PacksFp32) {
  inference::ModelInferRequest request;
  auto* c = AddInput(&request, "t", "FP32", {1, 2})->mutable_contents();
  c->add_fp32_contents(1.5f);   // 0x3fc00000
  c->add_fp32_contents(-2.0f);  // 0xc0000000
  EXPECT_EQ(DecodeOneTyped(request),
            Bytes({0x00, 0x00, 0xc0, 0x3f, 0x00, 0x00, 0x00, 0xc0}));
}

TEST(DecodeInferRequestTest, PacksFp64) {
  inference::ModelInferRequest request;
  auto* c = AddInput(&request, "t", "FP64", {2})->mutable_contents();
  c->add_fp64_contents(1.5);   // 0x3ff8000000000000
  c->add_fp64_contents(-2.0);  // 0xc000000000000000
  EXPECT_EQ(DecodeOneTyped(request), Bytes({0, 0, 0, 0, 0, 0, 0xf8, 0x3f,  //
                                            0, 0, 0, 0, 0, 0, 0, 0xc0}));
}

TEST(DecodeInferRequestTest,
     RejectsTypedIntegersOutOfRangeInsteadOfTruncating) {
  const std::vector<std::pair<std::string, int>> cases = {
      {"INT8", 300}, {"INT8", -129}, {"INT16", 40000}};
  for (const auto& [type, value] : cases) {
    inference::ModelInferRequest request;
    AddInput(&request, "x", type, {1})
        ->mutable_contents()
        ->add_int_contents(value);
    InferRequest decoded;
    ExpectInvalid(DecodeInferRequest(request, &decoded),
                  "input \"x\": value " + std::to_string(value) +
                      " is out of range for " + type);
  }
  inference::ModelInferRequest request;
  AddInput(&request, "u", "UINT8", {1})
      ->mutable_contents()
      ->add_uint_contents(256);
  InferRequest decoded;
  ExpectInvalid(DecodeInferRequest(request, &decoded),
                "value 256 is out of range for UINT8");
}

TEST(DecodeInferRequestTest, TypedInputsKeepTheirOwnStorage) {
  inference::ModelInferRequest request;
  AddInput(&request, "a", "INT32", {1})
      ->mutable_contents()
      ->add_int_contents(7);
  AddInput(&request, "b", "INT32", {1})
      ->mutable_contents()
      ->add_int_contents(9);
  InferRequest decoded;
  ASSERT_TRUE(DecodeInferRequest(request, &decoded).ok());
  ASSERT_EQ(decoded.inputs.size(), 2u);
  request.Clear();  // typed data must not depend on the wire message
  EXPECT_EQ(std::string(decoded.inputs[0].data), Bytes({7, 0, 0, 0}));
  EXPECT_EQ(std::string(decoded.inputs[1].data), Bytes({9, 0, 0, 0}));
}

TEST(DecodeInferRequestTest, RejectsTypedCountNotMatchingShape) {
  inference::ModelInferRequest request;
  auto* c = AddInput(&request, "x", "FP32", {2, 2})->mutable_contents();
  for (int i = 0; i < 3; ++i) c->add_fp32_contents(i);
  InferRequest decoded;
  ExpectInvalid(DecodeInferRequest(request, &decoded),
                "input \"x\": contents has 3 values, shape needs 4");
}

TEST(DecodeInferRequestTest, RejectsTypedValuesInTheWrongField) {
  // INT64 data sent in int_contents (the INT32 field) counts as no values.
  inference::ModelInferRequest request;
  auto* c = AddInput(&request, "ids", "INT64", {2})->mutable_contents();
  c->add_int_contents(1);
  c->add_int_contents(2);
  InferRequest decoded;
  ExpectInvalid(DecodeInferRequest(request, &decoded),
                "input \"ids\": contents has 0 values, shape needs 2");
}

TEST(DecodeInferRequestTest, RejectsTypedFp16) {
  inference::ModelInferRequest request;
  AddInput(&request, "h", "FP16", {1})
      ->mutable_contents()
      ->add_fp32_contents(1);
  InferRequest decoded;
  absl::Status status = DecodeInferRequest(request, &decoded);
  ExpectInvalid(status,
                "input \"h\": datatype FP16 cannot be sent as typed "
                "contents");
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("send it in raw_input_contents"));
}

TEST(DecodeInferRequestTest, RejectsTypedBf16) {
  inference::ModelInferRequest request;
  AddInput(&request, "b", "BF16", {1})
      ->mutable_contents()
      ->add_fp32_contents(1);
  InferRequest decoded;
  ExpectInvalid(DecodeInferRequest(request, &decoded),
                "input \"b\": datatype BF16 cannot be sent as typed contents; "
                "send it in raw_input_contents");
}

// --- Requested outputs
// --------------------------------------------------------------

TEST(DecodeInferRequestTest, RequestedOutputsKeepNamesAndOrder) {
  inference::ModelInferRequest request;
  request.add_outputs()->set_name("second");
  request.add_outputs()->set_name("first");
  InferRequest decoded;
  ASSERT_TRUE(DecodeInferRequest(request, &decoded).ok());
  ASSERT_EQ(decoded.outputs.size(), 2u);
  EXPECT_EQ(decoded.outputs[0].name, "second");
  EXPECT_FALSE(decoded.outputs[0].classify);
  EXPECT_EQ(decoded.outputs[1].name, "first");
  EXPECT_FALSE(decoded.outputs[1].classify);
}

TEST(DecodeInferRequestTest, ParsesClassificationParameter) {
  inference::ModelInferRequest request;
  auto* output = request.add_outputs();
  output->set_name("probabilities");
  (*output->mutable_parameters())["classification"].set_int64_param(3);
  request.add_outputs()->set_name("raw");
  InferRequest decoded;
  ASSERT_TRUE(DecodeInferRequest(request, &decoded).ok());
  ASSERT_EQ(decoded.outputs.size(), 2u);
  EXPECT_EQ(decoded.outputs[0].name, "probabilities");
  EXPECT_TRUE(decoded.outputs[0].classify);
  EXPECT_EQ(decoded.outputs[0].classification, 3);
  EXPECT_FALSE(decoded.outputs[1].classify);
  EXPECT_EQ(decoded.outputs[1].classification, 0);
}

// --- Schedule policy parameters ----------------------------------------

TEST(DecodeInferRequestTest,
     WithoutScheduleParametersPriorityAndTimeoutAreZero) {
  inference::ModelInferRequest request;
  (*request.mutable_parameters())["sequence_id"].set_int64_param(3);
  InferRequest decoded;
  ASSERT_TRUE(DecodeInferRequest(request, &decoded).ok());
  EXPECT_EQ(decoded.priority, 0u);
  EXPECT_EQ(decoded.timeout, absl::ZeroDuration());
}

TEST(DecodeInferRequestTest, ReadsPriorityAndTimeoutAsInt64) {
  inference::ModelInferRequest request;
  (*request.mutable_parameters())["priority"].set_int64_param(2);
  (*request.mutable_parameters())["timeout"].set_int64_param(1500);
  InferRequest decoded;
  ASSERT_TRUE(DecodeInferRequest(request, &decoded).ok());
  EXPECT_EQ(decoded.priority, 2u);
  EXPECT_EQ(decoded.timeout, absl::Microseconds(1500));
}

TEST(DecodeInferRequestTest, ReadsPriorityAndTimeoutAsUint64) {
  inference::ModelInferRequest request;
  (*request.mutable_parameters())["priority"].set_uint64_param(
      18446744073709551615u);
  (*request.mutable_parameters())["timeout"].set_uint64_param(
      18446744073709551615u);
  InferRequest decoded;
  ASSERT_TRUE(DecodeInferRequest(request, &decoded).ok());
  // Kept as sent: whether it is a level is the model's to say.
  EXPECT_EQ(decoded.priority, 18446744073709551615u);
  // Beyond int64 microseconds: no timeout at all.
  EXPECT_EQ(decoded.timeout, absl::InfiniteDuration());
}

TEST(DecodeInferRequestTest, RefusesScheduleParametersOfTheWrongType) {
  for (const char* name : {"priority", "timeout"}) {
    inference::ModelInferRequest request;
    (*request.mutable_parameters())[name].set_string_param("high");
    InferRequest decoded;
    ExpectInvalid(DecodeInferRequest(request, &decoded),
                  absl::StrCat("parameter \"", name,
                               "\": expected int64_param or uint64_param, "
                               "got string_param"));
    (*request.mutable_parameters())[name].set_double_param(1.5);
    ExpectInvalid(DecodeInferRequest(request, &decoded),
                  absl::StrCat("parameter \"", name,
                               "\": expected int64_param or uint64_param, "
                               "got double_param"));
    (*request.mutable_parameters())[name].Clear();
    ExpectInvalid(DecodeInferRequest(request, &decoded),
                  absl::StrCat("parameter \"", name,
                               "\": expected int64_param or uint64_param, "
                               "got no value"));
  }
}

TEST(DecodeInferRequestTest, RefusesNegativeScheduleParameters) {
  for (const char* name : {"priority", "timeout"}) {
    inference::ModelInferRequest request;
    (*request.mutable_parameters())[name].set_int64_param(-1);
    InferRequest decoded;
    ExpectInvalid(DecodeInferRequest(request, &decoded),
                  absl::StrCat("parameter \"", name,
                               "\": expected a value >= 0, got -1"));
  }
}

// --- EncodeInferResponse
// --------------------------------------------------------------

TEST(EncodeInferResponseTest, MovesOutputsToRawContentsAndEchoesIds) {
  InferResponse response;
  response.model_name = "iris";
  response.model_version = "1";
  response.id = "req-7";
  response.outputs.push_back(
      OutputTensor{"probabilities", "FP32", {2, 3}, std::string(24, 'p')});
  response.outputs.push_back(
      OutputTensor{"classes", "BYTES", {2, 1}, Bytes({1, 0, 0, 0, 'a'})});
  inference::ModelInferResponse wire;
  EncodeInferResponse(std::move(response), &wire);

  EXPECT_EQ(wire.model_name(), "iris");
  EXPECT_EQ(wire.model_version(), "1");
  EXPECT_EQ(wire.id(), "req-7");
  ASSERT_EQ(wire.outputs_size(), 2);
  ASSERT_EQ(wire.raw_output_contents_size(), 2);
  EXPECT_EQ(wire.outputs(0).name(), "probabilities");
  EXPECT_EQ(wire.outputs(0).datatype(), "FP32");
  EXPECT_THAT(wire.outputs(0).shape(), ElementsAre(2, 3));
  EXPECT_FALSE(wire.outputs(0).has_contents());
  EXPECT_EQ(wire.raw_output_contents(0), std::string(24, 'p'));
  EXPECT_EQ(wire.outputs(1).name(), "classes");
  EXPECT_EQ(wire.outputs(1).datatype(), "BYTES");
  EXPECT_THAT(wire.outputs(1).shape(), ElementsAre(2, 1));
  EXPECT_FALSE(wire.outputs(1).has_contents());
  EXPECT_EQ(wire.raw_output_contents(1), Bytes({1, 0, 0, 0, 'a'}));
}

TEST(EncodeInferResponseTest, EmptyResponseHasNoOutputs) {
  InferResponse response;
  response.model_name = "m";
  inference::ModelInferResponse wire;
  EncodeInferResponse(std::move(response), &wire);
  EXPECT_EQ(wire.model_name(), "m");
  EXPECT_EQ(wire.id(), "");
  EXPECT_EQ(wire.outputs_size(), 0);
  EXPECT_EQ(wire.raw_output_contents_size(), 0);
}

}  // namespace
}  // namespace inferd
