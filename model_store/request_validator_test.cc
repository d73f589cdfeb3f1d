#include "model_store/request_validator.h"

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace inferd {
namespace {

using ::testing::HasSubstr;

// max_batch_size 8; x FP32 [-1, 3], y INT64 [2]; out FP32 [3], aux INT32 [1].
inference::ModelConfig TestConfig() {
  inference::ModelConfig config;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(
      R"pb(
        name: "m"
        platform: "pytorch_libtorch"
        max_batch_size: 8
        input {
          name: "x"
          data_type: TYPE_FP32
          dims: [ -1, 3 ]
        }
        input {
          name: "y"
          data_type: TYPE_INT64
          dims: [ 2 ]
        }
        output {
          name: "out"
          data_type: TYPE_FP32
          dims: [ 3 ]
        }
        output {
          name: "aux"
          data_type: TYPE_INT32
          dims: [ 1 ]
        }
      )pb",
      &config));
  return config;
}

size_t ElementSizeOf(const std::string& datatype) {
  if (datatype == "INT64" || datatype == "FP64") return 8;
  if (datatype == "INT16" || datatype == "FP16") return 2;
  if (datatype == "BOOL" || datatype == "INT8" || datatype == "UINT8") return 1;
  return 4;
}

// An input whose byte size matches its shape and datatype.
InputTensor Input(const std::string& name, const std::string& datatype,
                  std::vector<int64_t> shape) {
  size_t elements = 1;
  for (int64_t dim : shape) elements *= dim > 0 ? static_cast<size_t>(dim) : 0;
  InputTensor tensor;
  tensor.name = name;
  tensor.datatype = datatype;
  tensor.shape = std::move(shape);
  auto storage = std::make_shared<const std::string>(
      elements * ElementSizeOf(datatype), '\0');
  tensor.data = *storage;
  tensor.storage = std::move(storage);
  return tensor;
}

// An input with exactly `bytes` bytes of data, whatever its shape.
InputTensor InputWithBytes(const std::string& name, const std::string& datatype,
                           std::vector<int64_t> shape, size_t bytes) {
  InputTensor tensor;
  tensor.name = name;
  tensor.datatype = datatype;
  tensor.shape = std::move(shape);
  auto storage = std::make_shared<const std::string>(bytes, '\0');
  tensor.data = *storage;
  tensor.storage = std::move(storage);
  return tensor;
}

// A valid request with `rows` rows and x's variable dim `length`.
InferRequest ValidRequest(int64_t rows = 2, int64_t length = 5) {
  InferRequest request;
  request.model_name = "m";
  request.inputs.push_back(Input("x", "FP32", {rows, length, 3}));
  request.inputs.push_back(Input("y", "INT64", {rows, 2}));
  return request;
}

void ExpectInvalid(const absl::StatusOr<ValidatedRequest>& result,
                   const std::string& substring) {
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument)
      << result.status();
  EXPECT_THAT(std::string(result.status().message()), HasSubstr(substring));
}

// --- Valid requests ----------------------------------------------------------

TEST(ValidateRequestTest, AcceptsValidRequestAndCountsRows) {
  const inference::ModelConfig config = TestConfig();
  const InferRequest request = ValidRequest(/*rows=*/3);
  absl::StatusOr<ValidatedRequest> result = ValidateRequest(config, request);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->rows, 3);
  ASSERT_EQ(result->inputs.size(), 2u);
  EXPECT_EQ(result->inputs[0], &request.inputs[0]);
  EXPECT_EQ(result->inputs[1], &request.inputs[1]);
}

TEST(ValidateRequestTest, AcceptsMaxBatchSizeRows) {
  const inference::ModelConfig config = TestConfig();
  const InferRequest request = ValidRequest(/*rows=*/8);
  absl::StatusOr<ValidatedRequest> result = ValidateRequest(config, request);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->rows, 8);
}

TEST(ValidateRequestTest, NoRequestedOutputsSelectsAllInConfigOrder) {
  const inference::ModelConfig config = TestConfig();
  const InferRequest request = ValidRequest();
  absl::StatusOr<ValidatedRequest> result = ValidateRequest(config, request);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->outputs.size(), 2u);
  EXPECT_EQ(result->outputs[0].index, 0);
  EXPECT_EQ(result->outputs[0].classification, 0);
  EXPECT_EQ(result->outputs[1].index, 1);
  EXPECT_EQ(result->outputs[1].classification, 0);
}

TEST(ValidateRequestTest, RequestedOutputsKeepRequestOrder) {
  const inference::ModelConfig config = TestConfig();
  InferRequest request = ValidRequest();
  request.outputs.push_back(RequestedOutput{"aux"});
  request.outputs.push_back(RequestedOutput{"out", true, 2});
  absl::StatusOr<ValidatedRequest> result = ValidateRequest(config, request);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->outputs.size(), 2u);
  EXPECT_EQ(result->outputs[0].index, 1);
  EXPECT_EQ(result->outputs[0].classification, 0);
  EXPECT_EQ(result->outputs[1].index, 0);
  EXPECT_EQ(result->outputs[1].classification, 2);
}

TEST(ValidateRequestTest, ReordersInputsToConfigOrder) {
  const inference::ModelConfig config = TestConfig();
  InferRequest request;
  request.inputs.push_back(Input("y", "INT64", {2, 2}));
  request.inputs.push_back(Input("x", "FP32", {2, 5, 3}));
  absl::StatusOr<ValidatedRequest> result = ValidateRequest(config, request);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->inputs.size(), 2u);
  EXPECT_EQ(result->inputs[0], &request.inputs[1]);
  EXPECT_EQ(result->inputs[0]->name, "x");
  EXPECT_EQ(result->inputs[1], &request.inputs[0]);
  EXPECT_EQ(result->inputs[1]->name, "y");
}

TEST(ValidateRequestTest, ShapeKeyIgnoresBatchDimension) {
  const inference::ModelConfig config = TestConfig();
  const InferRequest two_rows = ValidRequest(/*rows=*/2, /*length=*/5);
  const InferRequest six_rows = ValidRequest(/*rows=*/6, /*length=*/5);
  absl::StatusOr<ValidatedRequest> a = ValidateRequest(config, two_rows);
  absl::StatusOr<ValidatedRequest> b = ValidateRequest(config, six_rows);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(a->shape_key, b->shape_key);
}

TEST(ValidateRequestTest, ShapeKeyDiffersForDifferentVariableDim) {
  const inference::ModelConfig config = TestConfig();
  const InferRequest length5 = ValidRequest(/*rows=*/2, /*length=*/5);
  const InferRequest length6 = ValidRequest(/*rows=*/2, /*length=*/6);
  absl::StatusOr<ValidatedRequest> a = ValidateRequest(config, length5);
  absl::StatusOr<ValidatedRequest> b = ValidateRequest(config, length6);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_NE(a->shape_key, b->shape_key);
}

TEST(ValidateRequestTest, ShapeKeyDoesNotDependOnRequestInputOrder) {
  const inference::ModelConfig config = TestConfig();
  const InferRequest in_order = ValidRequest();
  InferRequest reversed;
  reversed.inputs.push_back(Input("y", "INT64", {2, 2}));
  reversed.inputs.push_back(Input("x", "FP32", {2, 5, 3}));
  absl::StatusOr<ValidatedRequest> a = ValidateRequest(config, in_order);
  absl::StatusOr<ValidatedRequest> b = ValidateRequest(config, reversed);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(a->shape_key, b->shape_key);
}

// --- Input names -------------------------------------------------------------

TEST(ValidateRequestTest, RejectsMissingInput) {
  InferRequest request = ValidRequest();
  request.inputs.pop_back();
  ExpectInvalid(ValidateRequest(TestConfig(), request),
                "missing input \"y\" required by model m");
}

TEST(ValidateRequestTest, RejectsUnknownInputListingExpectedInputs) {
  InferRequest request = ValidRequest();
  request.inputs.push_back(Input("z", "FP32", {2, 3}));
  ExpectInvalid(ValidateRequest(TestConfig(), request),
                "unexpected input \"z\"; model m expects inputs [x, y]");
}

TEST(ValidateRequestTest, RejectsDuplicateInput) {
  InferRequest request = ValidRequest();
  request.inputs.push_back(Input("x", "FP32", {2, 5, 3}));
  ExpectInvalid(ValidateRequest(TestConfig(), request),
                "input \"x\" is given more than once");
}

// --- Datatypes and shapes
// -----------------------------------------------------

TEST(ValidateRequestTest, RejectsWrongDatatype) {
  InferRequest request = ValidRequest();
  request.inputs[0] = Input("x", "INT32", {2, 5, 3});
  ExpectInvalid(ValidateRequest(TestConfig(), request),
                "input \"x\": expected datatype FP32, got INT32");
}

TEST(ValidateRequestTest, EchoesClientStringsCut) {
  // A 1 MB name, datatype or shape comes back cut to a few hundred bytes
  // (it would exceed the client's limit on error metadata).
  const std::string huge(1 << 20, 'z');
  InferRequest unknown = ValidRequest();
  unknown.inputs.push_back(Input(huge, "FP32", {2, 3}));
  InferRequest datatype = ValidRequest();
  datatype.inputs[0] = Input("x", huge, {2, 5, 3});
  InferRequest rank = ValidRequest();
  rank.inputs[0] = Input("x", "FP32", std::vector<int64_t>(200000, 2));
  for (const InferRequest* request : {&unknown, &datatype, &rank}) {
    const absl::StatusOr<ValidatedRequest> result =
        ValidateRequest(TestConfig(), *request);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_LT(result.status().message().size(), 500u);
    EXPECT_THAT(std::string(result.status().message()), HasSubstr(" bytes)"));
  }
}

TEST(ValidateRequestTest, RejectsWrongRank) {
  InferRequest request = ValidRequest();
  request.inputs[0] = Input("x", "FP32", {2, 3});
  ExpectInvalid(ValidateRequest(TestConfig(), request),
                "input \"x\": expected shape [-1,-1,3], got [2,3]");
}

TEST(ValidateRequestTest, RejectsWrongFixedDim) {
  InferRequest request = ValidRequest();
  request.inputs[1] = Input("y", "INT64", {2, 3});
  ExpectInvalid(ValidateRequest(TestConfig(), request),
                "input \"y\": expected shape [-1,2], got [2,3]");
}

TEST(ValidateRequestTest, RejectsZeroDim) {
  InferRequest request = ValidRequest();
  request.inputs[0] = Input("x", "FP32", {2, 0, 3});
  ExpectInvalid(ValidateRequest(TestConfig(), request),
                "input \"x\": every dimension must be >= 1, got shape [2,0,3]");
}

TEST(ValidateRequestTest, RejectsZeroBatchDim) {
  InferRequest request = ValidRequest();
  request.inputs[0] = Input("x", "FP32", {0, 5, 3});
  request.inputs[1] = Input("y", "INT64", {0, 2});
  ExpectInvalid(ValidateRequest(TestConfig(), request),
                "input \"x\": every dimension must be >= 1, got shape [0,5,3]");
}

TEST(ValidateRequestTest, RejectsNegativeDim) {
  InferRequest request = ValidRequest();
  request.inputs[0] = InputWithBytes("x", "FP32", {2, -1, 3}, 24);
  ExpectInvalid(
      ValidateRequest(TestConfig(), request),
      "input \"x\": every dimension must be >= 1, got shape [2,-1,3]");
}

TEST(ValidateRequestTest, RejectsBatchAboveMaxBatchSize) {
  const InferRequest request = ValidRequest(/*rows=*/9);
  ExpectInvalid(ValidateRequest(TestConfig(), request),
                "batch dimension 9 exceeds max_batch_size 8 of model m");
}

TEST(ValidateRequestTest, RejectsInputsWithDifferentBatchDims) {
  InferRequest request = ValidRequest(/*rows=*/2);
  request.inputs[1] = Input("y", "INT64", {3, 2});
  ExpectInvalid(ValidateRequest(TestConfig(), request),
                "input \"y\": batch dimension 3 differs from input \"x\"'s 2");
}

TEST(ValidateRequestTest, RejectsTooFewBytes) {
  InferRequest request = ValidRequest();
  request.inputs[0] = InputWithBytes("x", "FP32", {2, 5, 3}, 119);
  ExpectInvalid(ValidateRequest(TestConfig(), request),
                "input \"x\": shape [2,5,3] of FP32 needs 120 bytes, got 119");
}

TEST(ValidateRequestTest, RejectsTooManyBytes) {
  InferRequest request = ValidRequest();
  request.inputs[1] = InputWithBytes("y", "INT64", {2, 2}, 40);
  ExpectInvalid(ValidateRequest(TestConfig(), request),
                "input \"y\": shape [2,2] of INT64 needs 32 bytes, got 40");
}

TEST(ValidateRequestTest, RefusesHugeDimInsteadOfOverflowing) {
  InferRequest request = ValidRequest(/*rows=*/1);
  const int64_t huge = int64_t{1} << 62;
  request.inputs[0] = InputWithBytes("x", "FP32", {1, huge, 3}, 0);
  ExpectInvalid(ValidateRequest(TestConfig(), request),
                "input \"x\": shape [1,4611686018427387904,3] has too many "
                "elements");
}

TEST(ValidateRequestTest, RefusesDimsWhoseProductOverflows) {
  // Each dim alone is small; 8 * 2^30 * 2^30 * 4 bytes overflows int64_t.
  inference::ModelConfig config = TestConfig();
  config.mutable_input(0)->clear_dims();
  config.mutable_input(0)->add_dims(-1);
  config.mutable_input(0)->add_dims(-1);
  InferRequest request = ValidRequest(/*rows=*/8);
  const int64_t big = int64_t{1} << 30;
  request.inputs[0] = InputWithBytes("x", "FP32", {8, big, big}, 16);
  ExpectInvalid(ValidateRequest(config, request),
                "input \"x\": shape [8,1073741824,1073741824] has too many "
                "elements");
}

TEST(ValidateRequestTest, RefusesMaxInt64Dim) {
  InferRequest request = ValidRequest(/*rows=*/1);
  request.inputs[0] = InputWithBytes(
      "x", "FP32", {1, std::numeric_limits<int64_t>::max(), 3}, 12);
  ExpectInvalid(ValidateRequest(TestConfig(), request),
                "has too many elements");
}

// --- Requested outputs
// --------------------------------------------------------

TEST(ValidateRequestTest, RejectsUnknownRequestedOutput) {
  InferRequest request = ValidRequest();
  request.outputs.push_back(RequestedOutput{"nope"});
  ExpectInvalid(ValidateRequest(TestConfig(), request),
                "unknown output \"nope\" requested from model m");
}

TEST(ValidateRequestTest, RejectsClassificationZero) {
  InferRequest request = ValidRequest();
  request.outputs.push_back(RequestedOutput{"out", true, 0});
  ExpectInvalid(ValidateRequest(TestConfig(), request),
                "output \"out\": parameter classification must be >= 1, got 0");
}

TEST(ValidateRequestTest, RejectsNegativeClassification) {
  InferRequest request = ValidRequest();
  request.outputs.push_back(RequestedOutput{"out", true, -3});
  ExpectInvalid(
      ValidateRequest(TestConfig(), request),
      "output \"out\": parameter classification must be >= 1, got -3");
}

TEST(ValidateRequestTest, RejectsClassificationOfFp16Output) {
  inference::ModelConfig config = TestConfig();
  auto* half = config.add_output();
  half->set_name("half");
  half->set_data_type(inference::TYPE_FP16);
  half->add_dims(3);
  InferRequest request = ValidRequest();
  request.outputs.push_back(RequestedOutput{"half", true, 1});
  ExpectInvalid(ValidateRequest(config, request),
                "output \"half\": classification is not supported for "
                "TYPE_FP16 outputs");
}

TEST(ValidateRequestTest, RejectsClassificationOfBf16Output) {
  inference::ModelConfig config = TestConfig();
  auto* half = config.add_output();
  half->set_name("brain");
  half->set_data_type(inference::TYPE_BF16);
  half->add_dims(3);
  InferRequest request = ValidRequest();
  request.outputs.push_back(RequestedOutput{"brain", true, 2});
  ExpectInvalid(ValidateRequest(config, request),
                "output \"brain\": classification is not supported for "
                "TYPE_BF16 outputs");
}

TEST(ValidateRequestTest, AllowsRawFp16OutputWithoutClassification) {
  inference::ModelConfig config = TestConfig();
  auto* half = config.add_output();
  half->set_name("half");
  half->set_data_type(inference::TYPE_FP16);
  half->add_dims(3);
  InferRequest request = ValidRequest();
  request.outputs.push_back(RequestedOutput{"half"});
  absl::StatusOr<ValidatedRequest> result = ValidateRequest(config, request);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->outputs.size(), 1u);
  EXPECT_EQ(result->outputs[0].index, 2);
}

// --- Models without a batch dimension
// ------------------------------------------

inference::ModelConfig UnbatchedConfig() {
  inference::ModelConfig config = TestConfig();
  config.set_max_batch_size(0);
  config.mutable_input(0)->clear_dims();
  config.mutable_input(0)->add_dims(2);
  config.mutable_input(0)->add_dims(-1);
  config.mutable_input(1)->clear_dims();
  config.mutable_input(1)->add_dims(4);
  return config;
}

TEST(ValidateRequestTest, UnbatchedModelTakesDimsAsFullShape) {
  const inference::ModelConfig config = UnbatchedConfig();
  InferRequest request;
  request.inputs.push_back(Input("x", "FP32", {2, 7}));
  request.inputs.push_back(Input("y", "INT64", {4}));
  absl::StatusOr<ValidatedRequest> result = ValidateRequest(config, request);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->rows, 1);
}

TEST(ValidateRequestTest, UnbatchedModelAcceptsFirstDimAboveZeroMaxBatch) {
  // The first dim is a model dim, not a batch dim: 16 > max_batch_size 0 is
  // fine.
  inference::ModelConfig config = UnbatchedConfig();
  config.mutable_input(0)->set_dims(0, -1);
  InferRequest request;
  request.inputs.push_back(Input("x", "FP32", {16, 1}));
  request.inputs.push_back(Input("y", "INT64", {4}));
  absl::StatusOr<ValidatedRequest> result = ValidateRequest(config, request);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->rows, 1);
}

TEST(ValidateRequestTest, UnbatchedModelRejectsExtraBatchDim) {
  InferRequest request;
  request.inputs.push_back(Input("x", "FP32", {1, 2, 7}));
  request.inputs.push_back(Input("y", "INT64", {4}));
  ExpectInvalid(ValidateRequest(UnbatchedConfig(), request),
                "input \"x\": expected shape [2,-1], got [1,2,7]");
}

TEST(ValidateRequestTest, UnbatchedModelRejectsWrongFixedDim) {
  InferRequest request;
  request.inputs.push_back(Input("x", "FP32", {2, 7}));
  request.inputs.push_back(Input("y", "INT64", {5}));
  ExpectInvalid(ValidateRequest(UnbatchedConfig(), request),
                "input \"y\": expected shape [4], got [5]");
}

}  // namespace
}  // namespace inferd
