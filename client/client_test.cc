// The client library without a server: tensors, the request builder, result
// accessors, the channel cache and the calls that fail before sending.

#include "inferd/client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "client/internal.h"
#include "proto/inference.pb.h"

namespace inferd::client {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Optional;

std::string Raw(const std::vector<float>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()),
                     values.size() * sizeof(float));
}

TEST(TensorTest, DatatypeIsInferredFromTheElementType) {
  EXPECT_STREQ(DatatypeOf<float>(), "FP32");
  EXPECT_STREQ(DatatypeOf<double>(), "FP64");
  EXPECT_STREQ(DatatypeOf<int64_t>(), "INT64");
  EXPECT_STREQ(DatatypeOf<uint8_t>(), "UINT8");
  EXPECT_STREQ(DatatypeOf<bool>(), "BOOL");
  EXPECT_EQ(DatatypeOf<char*>(), nullptr);

  const Tensor t = Tensor::Of("x", {2, 2}, std::vector<float>{1, 2, 3, 4.5});
  EXPECT_EQ(t.name(), "x");
  EXPECT_EQ(t.datatype(), "FP32");
  EXPECT_THAT(t.shape(), ElementsAre(2, 2));
  EXPECT_EQ(t.raw(), Raw({1, 2, 3, 4.5}));
  EXPECT_EQ(t.ElementCount(), 4);
}

TEST(TensorTest, TypedAccessorsCheckDatatypeAndSize) {
  const Tensor t = Tensor::Of("x", {3}, std::vector<int64_t>{-1, 0, 7});
  EXPECT_THAT(t.As<int64_t>(), Optional(ElementsAre(-1, 0, 7)));
  EXPECT_EQ(t.As<double>(), std::nullopt);  // same size, other datatype
  EXPECT_EQ(t.As<int32_t>(), std::nullopt);
  EXPECT_EQ(t.Strings(), std::nullopt);

  const Tensor bools =
      Tensor::Of("b", {3}, std::vector<bool>{true, false, true});
  EXPECT_EQ(bools.raw(), std::string("\1\0\1", 3));
  EXPECT_THAT(bools.As<bool>(), Optional(ElementsAre(true, false, true)));

  // Bytes that do not fill the shape.
  const Tensor short_raw("y", "FP32", {1, 4}, Raw({1, 2, 3}));
  EXPECT_EQ(short_raw.As<float>(), std::nullopt);
  // A scalar holds one element; a zero dimension none.
  EXPECT_EQ(Tensor("s", "FP32", {}, Raw({2})).As<float>(),
            std::vector<float>{2});
  EXPECT_THAT(Tensor("e", "FP32", {0, 4}, "").As<float>(),
              Optional(ElementsAre()));
  EXPECT_EQ(Tensor("n", "FP32", {-1, 4}, "").ElementCount(), -1);
}

TEST(TensorTest, StringsRoundTripAndRejectTruncatedElements) {
  const Tensor t = Tensor::OfStrings("s", {3}, {"a", "", "hello"});
  EXPECT_EQ(t.datatype(), "BYTES");
  EXPECT_EQ(t.raw().size(), 3 * 4 + 6);
  EXPECT_THAT(t.Strings(), Optional(ElementsAre("a", "", "hello")));

  std::string truncated = t.raw();
  truncated.pop_back();
  EXPECT_EQ(Tensor("s", "BYTES", {3}, truncated).Strings(), std::nullopt);
  // Well-formed, but not as many elements as the shape says.
  EXPECT_EQ(Tensor("s", "BYTES", {4}, t.raw()).Strings(), std::nullopt);
}

TEST(TensorTest, ClassificationsParseScoreIndexAndLabel) {
  const Tensor t = Tensor::OfStrings(
      "probabilities", {3, 1}, {"0.999908:0:setosa", "0.5:2:a:b", "0.25:1"});
  const auto classes = t.Classifications();
  ASSERT_TRUE(classes.has_value());
  ASSERT_EQ(classes->size(), 3u);
  EXPECT_DOUBLE_EQ((*classes)[0].score, 0.999908);
  EXPECT_EQ((*classes)[0].index, 0);
  EXPECT_EQ((*classes)[0].label, "setosa");
  EXPECT_EQ((*classes)[1].index, 2);
  EXPECT_EQ((*classes)[1].label, "a:b");  // a label may hold ':'
  EXPECT_EQ((*classes)[2].index, 1);
  EXPECT_EQ((*classes)[2].label, "");  // no labels file

  for (const char* bad : {"0.5", "x:1:label", "0.5:one:label", ":1:l"}) {
    EXPECT_EQ(Tensor::OfStrings("p", {1}, {bad}).Classifications(),
              std::nullopt)
        << bad;
  }
  EXPECT_EQ(Tensor::Of("p", {1}, std::vector<float>{1}).Classifications(),
            std::nullopt);
}

TEST(InferRequestTest, BuildsTheModelInferRequest) {
  InferRequest request("iris", "2");
  request.SetId("call-7")
      .AddInput("features", {1, 4}, std::vector<float>{5.1f, 3.5f, 1.4f, 0.2f})
      .AddInput(Tensor::OfStrings("tags", {2}, {"a", "bc"}))
      .AddOutput("logits")
      .AddClassification("probabilities", 2)
      .SetPriority(1)
      .SetQueueTimeout(std::chrono::milliseconds(250));
  ASSERT_TRUE(request.status().ok()) << request.status().error_message();
  EXPECT_EQ(request.model_name(), "iris");

  const inference::ModelInferRequest& wire = internal::Access::Wire(request);
  EXPECT_EQ(wire.model_name(), "iris");
  EXPECT_EQ(wire.model_version(), "2");
  EXPECT_EQ(wire.id(), "call-7");
  ASSERT_EQ(wire.inputs_size(), 2);
  EXPECT_EQ(wire.inputs(0).name(), "features");
  EXPECT_EQ(wire.inputs(0).datatype(), "FP32");
  EXPECT_THAT(wire.inputs(0).shape(), ElementsAre(1, 4));
  EXPECT_FALSE(wire.inputs(0).has_contents());
  EXPECT_EQ(wire.inputs(1).datatype(), "BYTES");
  ASSERT_EQ(wire.raw_input_contents_size(), 2);
  EXPECT_EQ(wire.raw_input_contents(0), Raw({5.1f, 3.5f, 1.4f, 0.2f}));
  ASSERT_EQ(wire.outputs_size(), 2);
  EXPECT_EQ(wire.outputs(0).name(), "logits");
  EXPECT_TRUE(wire.outputs(0).parameters().empty());
  EXPECT_EQ(wire.outputs(1).name(), "probabilities");
  EXPECT_EQ(wire.outputs(1).parameters().at("classification").int64_param(), 2);
  EXPECT_EQ(wire.parameters().at("priority").uint64_param(), 1u);
  EXPECT_EQ(wire.parameters().at("timeout").int64_param(), 250000);
}

TEST(InferRequestTest, FirstMalformedInputIsReportedAndNothingAfterIt) {
  InferRequest request("iris");
  request.AddInput("features", {1, 4}, std::vector<float>{1, 2, 3})
      .AddInput("unknown", {1}, std::vector<float>{1});
  EXPECT_EQ(request.status().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(request.status().error_message(),
            "input \"features\": shape [1,4] of FP32 needs 16 bytes (4 "
            "elements), got 12");
  EXPECT_EQ(internal::Access::Wire(request).inputs_size(), 0);

  auto problem = [](Tensor tensor) {
    InferRequest r("m");
    r.AddInput(std::move(tensor));
    return r.status().error_message();
  };
  EXPECT_EQ(problem(Tensor("x", "FP8", {1}, "a")),
            "input \"x\": unknown datatype \"FP8\"");
  EXPECT_THAT(problem(Tensor("x", "FP32", {-1, 4}, "")),
              HasSubstr("shape [-1,4] has a negative dimension"));
  EXPECT_THAT(problem(Tensor("x", "BYTES", {2},
                             Tensor::OfStrings("x", {1}, {"a"}).raw())),
              HasSubstr("BYTES contents are not 2 length-prefixed elements"));
  EXPECT_EQ(problem(Tensor("", "FP32", {1}, Raw({1}))), "an input has no name");

  InferRequest zero("iris");
  zero.AddClassification("probabilities", 0);
  EXPECT_THAT(zero.status().error_message(),
              HasSubstr("classification of 0 classes; expected >= 1"));
}

TEST(InferRequestTest, CopiesAreIndependentAndMovedFromRequestsRestart) {
  InferRequest original("iris");
  original.AddInput("features", {1, 4}, std::vector<float>{1, 2, 3, 4});
  InferRequest copy = original;
  copy.SetId("copy");
  EXPECT_EQ(internal::Access::Wire(original).id(), "");
  EXPECT_EQ(internal::Access::Wire(copy).inputs_size(), 1);

  InferRequest moved = std::move(original);
  EXPECT_EQ(moved.model_name(), "iris");
  original.SetId("again");  // NOLINT(bugprone-use-after-move): allowed
  EXPECT_EQ(internal::Access::Wire(original).id(), "again");
}

TEST(InferResultTest, OutputsComeFromTheRawContents) {
  inference::ModelInferResponse response;
  response.set_model_name("iris");
  response.set_model_version("1");
  response.set_id("call-7");
  auto* output = response.add_outputs();
  output->set_name("probabilities");
  output->set_datatype("FP32");
  output->add_shape(1);
  output->add_shape(3);
  *response.add_raw_output_contents() = Raw({0.25f, 0.5f, 0.25f});

  const InferResult result =
      internal::Access::FromResponse(std::move(response), 1);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result.model_name(), "iris");
  EXPECT_EQ(result.model_version(), "1");
  EXPECT_EQ(result.id(), "call-7");
  EXPECT_EQ(result.connect_attempts(), 1);
  ASSERT_EQ(result.outputs().size(), 1u);
  const Tensor* probabilities = result.output("probabilities");
  ASSERT_NE(probabilities, nullptr);
  EXPECT_THAT(probabilities->shape(), ElementsAre(1, 3));
  EXPECT_THAT(probabilities->As<float>(),
              Optional(ElementsAre(0.25f, 0.5f, 0.25f)));
  EXPECT_EQ(result.output("logits"), nullptr);
}

TEST(InferResultTest, TypedOutputContentsAreRefusedNotMisread) {
  inference::ModelInferResponse response;
  auto* output = response.add_outputs();
  output->set_name("y");
  output->set_datatype("FP32");
  output->add_shape(1);
  output->mutable_contents()->add_fp32_contents(1);
  const InferResult result =
      internal::Access::FromResponse(std::move(response), 1);
  EXPECT_EQ(result.status().error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_THAT(result.status().error_message(),
              HasSubstr("this client reads raw outputs only"));
}

TEST(ChannelCacheTest, OneChannelPerTargetAndCredentials) {
  const auto plain = internal::SharedChannel("127.0.0.1:1", std::nullopt);
  EXPECT_EQ(internal::SharedChannel("127.0.0.1:1", std::nullopt), plain);
  EXPECT_NE(internal::SharedChannel("127.0.0.1:2", std::nullopt), plain);
  TlsOptions tls;
  tls.root_certs = "-----BEGIN CERTIFICATE-----";
  const auto secure = internal::SharedChannel("127.0.0.1:1", tls);
  EXPECT_NE(secure, plain);
  EXPECT_EQ(internal::SharedChannel("127.0.0.1:1", tls), secure);
  tls.root_certs += "x";
  EXPECT_NE(internal::SharedChannel("127.0.0.1:1", tls), secure);
}

TEST(ClientWithoutServerTest,
     NothingIsTriedForAMalformedRequestOrAPastDeadline) {
  const Client client("127.0.0.1:1");
  InferRequest bad("iris");
  bad.AddInput("features", {1, 4}, std::vector<float>{1});
  const InferResult refused = client.Infer(bad, std::chrono::seconds(5));
  EXPECT_EQ(refused.status().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(refused.connect_attempts(), 0);

  InferRequest good("iris");
  good.AddInput("features", {1, 4}, std::vector<float>{1, 2, 3, 4});
  const InferResult late = client.Infer(
      good, std::chrono::system_clock::now() - std::chrono::seconds(1));
  EXPECT_EQ(late.status().error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_EQ(late.status().error_message(),
            "deadline passed before a connection to 127.0.0.1:1: the request "
            "was not sent");
  EXPECT_EQ(late.connect_attempts(), 0);
}

}  // namespace
}  // namespace inferd::client
