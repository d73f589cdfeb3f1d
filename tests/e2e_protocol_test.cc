// The KServe v2 protocol end to end: a real server on a free port, real
// TorchScript models, requests through gRPC.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <numeric>

#include "absl/strings/str_split.h"
#include "proto/health.grpc.pb.h"
#include "tests/proto/reflection.pb.h"
#include "tests/test_server.h"

namespace inferd::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class ProtocolTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (TestModels("good").empty()) return;
    server_ = TestServer::Start(TestModels("good")).release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    if (server_ == nullptr)
      GTEST_FAIL() << "INFERD_TEST_MODELS is not set; run through ctest";
  }

  grpc::Status Infer(const inference::ModelInferRequest& request,
                     inference::ModelInferResponse* response) {
    grpc::ClientContext context;
    return server_->stub().ModelInfer(&context, request, response);
  }

  static inference::ModelInferRequest IrisRequest(std::vector<float> rows) {
    inference::ModelInferRequest request;
    request.set_model_name("iris");
    AddRawInput(&request, "features", "FP32",
                {static_cast<int64_t>(rows.size() / 4), 4}, RawBytes(rows));
    return request;
  }

  static TestServer* server_;
};

TestServer* ProtocolTest::server_ = nullptr;

TEST_F(ProtocolTest, ServerIsLiveAndReady) {
  grpc::ClientContext c1, c2;
  inference::ServerLiveResponse live;
  inference::ServerReadyResponse ready;
  ASSERT_TRUE(server_->stub().ServerLive(&c1, {}, &live).ok());
  ASSERT_TRUE(server_->stub().ServerReady(&c2, {}, &ready).ok());
  EXPECT_TRUE(live.live());
  EXPECT_TRUE(ready.ready());
}

TEST_F(ProtocolTest, ServerMetadataNamesServerAndExtensions) {
  grpc::ClientContext context;
  inference::ServerMetadataResponse metadata;
  ASSERT_TRUE(server_->stub().ServerMetadata(&context, {}, &metadata).ok());
  EXPECT_EQ(metadata.name(), "inferd");
  EXPECT_FALSE(metadata.version().empty());
  EXPECT_THAT(metadata.extensions(),
              ::testing::IsSupersetOf({std::string("classification"),
                                       std::string("schedule_policy")}));
}

TEST_F(ProtocolTest, ModelMetadataDescribesTensorsWithBatchDimension) {
  grpc::ClientContext context;
  inference::ModelMetadataRequest request;
  request.set_name("iris");
  inference::ModelMetadataResponse metadata;
  ASSERT_TRUE(server_->stub().ModelMetadata(&context, request, &metadata).ok());
  EXPECT_EQ(metadata.name(), "iris");
  EXPECT_EQ(metadata.platform(), "pytorch_libtorch");
  EXPECT_THAT(metadata.versions(), ElementsAre("1"));
  ASSERT_EQ(metadata.inputs_size(), 1);
  EXPECT_EQ(metadata.inputs(0).name(), "features");
  EXPECT_EQ(metadata.inputs(0).datatype(), "FP32");
  EXPECT_THAT(metadata.inputs(0).shape(), ElementsAre(-1, 4));
  ASSERT_EQ(metadata.outputs_size(), 1);
  EXPECT_EQ(metadata.outputs(0).name(), "probabilities");
  EXPECT_THAT(metadata.outputs(0).shape(), ElementsAre(-1, 3));
}

TEST_F(ProtocolTest, ModelConfigReturnsTheRepositoryConfig) {
  grpc::ClientContext context;
  inference::ModelConfigRequest request;
  request.set_name("iris");
  inference::ModelConfigResponse response;
  ASSERT_TRUE(server_->stub().ModelConfig(&context, request, &response).ok());
  EXPECT_EQ(response.config().max_batch_size(), 64);
  EXPECT_EQ(response.config().output(0).label_filename(), "labels.txt");
}

TEST_F(ProtocolTest, ModelReadyOnlyForLoadedVersions) {
  auto ready = [](const std::string& name, const std::string& version) {
    grpc::ClientContext context;
    inference::ModelReadyRequest request;
    request.set_name(name);
    request.set_version(version);
    inference::ModelReadyResponse response;
    EXPECT_TRUE(server_->stub().ModelReady(&context, request, &response).ok());
    return response.ready();
  };
  EXPECT_TRUE(ready("iris", ""));
  EXPECT_TRUE(ready("iris", "1"));
  EXPECT_FALSE(ready("iris", "7"));
  EXPECT_FALSE(ready("no_such_model", ""));
}

TEST_F(ProtocolTest, InferReturnsProbabilitiesAndEchoesId) {
  inference::ModelInferRequest request =
      IrisRequest({5.1f, 3.5f, 1.4f, 0.2f, 6.3f, 3.3f, 6.0f, 2.5f});
  request.set_id("request-42");
  inference::ModelInferResponse response;
  grpc::Status status = Infer(request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.id(), "request-42");
  EXPECT_EQ(response.model_name(), "iris");
  EXPECT_EQ(response.model_version(), "1");
  ASSERT_EQ(response.outputs_size(), 1);
  EXPECT_EQ(response.outputs(0).datatype(), "FP32");
  EXPECT_THAT(response.outputs(0).shape(), ElementsAre(2, 3));
  std::vector<float> p = FromRaw<float>(response.raw_output_contents(0));
  ASSERT_EQ(p.size(), 6u);
  EXPECT_NEAR(p[0] + p[1] + p[2], 1.0, 1e-5);
  EXPECT_GT(p[0], 0.9);  // setosa
  EXPECT_GT(p[5], 0.9);  // virginica
}

TEST_F(ProtocolTest, TypedContentsGiveTheSameAnswerAsRaw) {
  const std::vector<float> row = {6.4f, 3.2f, 4.5f, 1.5f};
  inference::ModelInferRequest typed;
  typed.set_model_name("iris");
  auto* input = typed.add_inputs();
  input->set_name("features");
  input->set_datatype("FP32");
  input->add_shape(1);
  input->add_shape(4);
  for (float v : row) input->mutable_contents()->add_fp32_contents(v);
  inference::ModelInferResponse from_typed, from_raw;
  ASSERT_TRUE(Infer(typed, &from_typed).ok());
  ASSERT_TRUE(Infer(IrisRequest(row), &from_raw).ok());
  EXPECT_EQ(from_typed.raw_output_contents(0), from_raw.raw_output_contents(0));
}

TEST_F(ProtocolTest, ClassificationReturnsTopScoresWithLabels) {
  inference::ModelInferRequest request =
      IrisRequest({5.1f, 3.5f, 1.4f, 0.2f, 6.3f, 3.3f, 6.0f, 2.5f});
  auto* output = request.add_outputs();
  output->set_name("probabilities");
  (*output->mutable_parameters())["classification"].set_int64_param(2);
  inference::ModelInferResponse response;
  ASSERT_TRUE(Infer(request, &response).ok());
  EXPECT_EQ(response.outputs(0).datatype(), "BYTES");
  EXPECT_THAT(response.outputs(0).shape(), ElementsAre(2, 2));
  std::vector<std::string> top =
      DecodeBytesTensor(response.raw_output_contents(0));
  ASSERT_EQ(top.size(), 4u);
  std::vector<std::string> first = absl::StrSplit(top[0], ':');
  ASSERT_EQ(first.size(), 3u);
  EXPECT_EQ(first[1], "0");
  EXPECT_EQ(first[2], "setosa");
  EXPECT_THAT(top[2], ::testing::EndsWith(":2:virginica"));
  auto score = [](const std::string& e) {
    return std::stod(e.substr(0, e.find(':')));
  };
  EXPECT_GT(score(top[0]), score(top[1]));
}

TEST_F(ProtocolTest, EveryDatatypeRoundTripsThroughRawContents) {
  inference::ModelInferRequest request;
  request.set_model_name("dtypes");
  const std::vector<std::pair<std::string, std::string>> types = {
      {"b", "BOOL"},    {"u8", "UINT8"},  {"i8", "INT8"},  {"i16", "INT16"},
      {"i32", "INT32"}, {"i64", "INT64"}, {"f16", "FP16"}, {"f32", "FP32"},
      {"f64", "FP64"},  {"bf16", "BF16"}};
  const std::vector<size_t> sizes = {1, 1, 1, 2, 4, 8, 2, 4, 8, 2};
  std::vector<std::string> sent;
  for (size_t i = 0; i < types.size(); ++i) {
    // Two rows of two elements; bytes chosen to be valid for every type
    // (booleans must be 0 or 1).
    std::string bytes(4 * sizes[i], '\0');
    for (size_t e = 0; e < 4; ++e)
      bytes[e * sizes[i]] = static_cast<char>(e % 2);
    AddRawInput(&request, types[i].first, types[i].second, {2, 2}, bytes);
    sent.push_back(bytes);
  }
  inference::ModelInferResponse response;
  grpc::Status status = Infer(request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.outputs_size(), 10);
  for (size_t i = 0; i < types.size(); ++i) {
    EXPECT_EQ(response.outputs(i).name(), "OUTPUT__" + std::to_string(i));
    EXPECT_EQ(response.outputs(i).datatype(), types[i].second);
    EXPECT_THAT(response.outputs(i).shape(), ElementsAre(2, 2));
    EXPECT_EQ(response.raw_output_contents(i), sent[i]) << types[i].second;
  }
}

TEST_F(ProtocolTest, OutputsMapByIndexSuffixAndHonourTheRequestedSubset) {
  inference::ModelInferRequest request;
  request.set_model_name("sumdiff");
  AddRawInput(&request, "INPUT__1", "FP32", {1, 3},
              RawBytes(std::vector<float>{1, 2, 3}));
  AddRawInput(&request, "INPUT__0", "FP32", {1, 3},
              RawBytes(std::vector<float>{10, 20, 30}));
  request.add_outputs()->set_name("OUTPUT__1");  // a - b
  inference::ModelInferResponse response;
  ASSERT_TRUE(Infer(request, &response).ok());
  ASSERT_EQ(response.outputs_size(), 1);
  EXPECT_EQ(response.outputs(0).name(), "OUTPUT__1");
  EXPECT_THAT(FromRaw<float>(response.raw_output_contents(0)),
              ElementsAre(9, 18, 27));
}

TEST_F(ProtocolTest, ModelWithoutBatchDimensionTakesItsDimsExactly) {
  inference::ModelInferRequest request;
  request.set_model_name("nobatch");
  AddRawInput(&request, "m", "FP32", {2, 3},
              RawBytes(std::vector<float>{0, 1, 2, 3, 4, 5}));
  inference::ModelInferResponse response;
  ASSERT_TRUE(Infer(request, &response).ok());
  EXPECT_THAT(response.outputs(0).shape(), ElementsAre(6));
  EXPECT_THAT(FromRaw<float>(response.raw_output_contents(0)),
              ElementsAre(1, 2, 3, 4, 5, 6));
}

TEST_F(ProtocolTest, ModelsRunInEvalModeWithGradientsOff) {
  // mode_probe was saved in training mode; it reports [training, grad].
  inference::ModelInferRequest request;
  request.set_model_name("mode_probe");
  AddRawInput(&request, "x", "FP32", {1, 2},
              RawBytes(std::vector<float>{0, 0}));
  inference::ModelInferResponse response;
  ASSERT_TRUE(Infer(request, &response).ok());
  EXPECT_THAT(FromRaw<float>(response.raw_output_contents(0)),
              ElementsAre(0, 0));
}

TEST_F(ProtocolTest, UnknownModelOrVersionIsNotFound) {
  inference::ModelInferRequest request = IrisRequest({1, 2, 3, 4});
  request.set_model_name("tulip");
  inference::ModelInferResponse response;
  grpc::Status status = Infer(request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(), HasSubstr("tulip"));

  request = IrisRequest({1, 2, 3, 4});
  request.set_model_version("9");
  status = Infer(request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(), HasSubstr("version 9"));
}

TEST_F(ProtocolTest, InvalidRequestsAreRefusedWithWhatWasExpected) {
  struct Case {
    std::string what;
    inference::ModelInferRequest request;
    std::string message;
  };
  std::vector<Case> cases;
  {
    inference::ModelInferRequest r;
    r.set_model_name("iris");
    AddRawInput(&r, "features", "FP64", {1, 4}, std::string(32, '\0'));
    cases.push_back({"datatype", r, "expected datatype FP32, got FP64"});
  }
  {
    inference::ModelInferRequest r;
    r.set_model_name("iris");
    AddRawInput(&r, "features", "FP32", {2, 5}, std::string(40, '\0'));
    cases.push_back({"shape", r, "expected shape [-1,4], got [2,5]"});
  }
  {
    inference::ModelInferRequest r;
    r.set_model_name("iris");
    AddRawInput(&r, "features", "FP32", {1, 4}, std::string(15, '\0'));
    cases.push_back({"bytes", r, "needs 16 bytes, got 15"});
  }
  {
    inference::ModelInferRequest r;
    r.set_model_name("iris");
    AddRawInput(&r, "features", "FP32", {0, 4}, "");
    cases.push_back({"zero dim", r, "must be >= 1"});
  }
  {
    inference::ModelInferRequest r;
    r.set_model_name("iris");
    AddRawInput(&r, "petals", "FP32", {1, 4}, std::string(16, '\0'));
    cases.push_back({"unknown input", r, "unexpected input \"petals\""});
  }
  {
    inference::ModelInferRequest r;
    r.set_model_name("sumdiff");
    AddRawInput(&r, "INPUT__0", "FP32", {1, 3}, std::string(12, '\0'));
    cases.push_back({"missing input", r, "missing input \"INPUT__1\""});
  }
  {
    inference::ModelInferRequest r;
    r.set_model_name("iris");
    AddRawInput(&r, "features", "FP32", {65, 4}, std::string(65 * 16, '\0'));
    cases.push_back({"batch too large", r, "exceeds max_batch_size 64"});
  }
  for (const Case& c : cases) {
    inference::ModelInferResponse response;
    grpc::Status status = Infer(c.request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << c.what;
    EXPECT_THAT(status.error_message(), HasSubstr(c.message)) << c.what;
  }
}

TEST_F(ProtocolTest, ModelThatThrowsIsInternalAndServerKeepsServing) {
  inference::ModelInferRequest bad;
  bad.set_model_name("thrower");
  AddRawInput(&bad, "x", "FP32", {1, 2}, RawBytes(std::vector<float>{-1, 1}));
  inference::ModelInferResponse response;
  grpc::Status status = Infer(bad, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_THAT(status.error_message(), HasSubstr("thrower"));
  EXPECT_THAT(status.error_message(), HasSubstr("negative input not allowed"));

  inference::ModelInferRequest good;
  good.set_model_name("thrower");
  AddRawInput(&good, "x", "FP32", {1, 2}, RawBytes(std::vector<float>{1, 2}));
  status = Infer(good, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(FromRaw<float>(response.raw_output_contents(0)),
              ElementsAre(2, 4));
}

TEST_F(ProtocolTest, UnimplementedRpcsNameThemselves) {
  grpc::ClientContext context;
  inference::SystemSharedMemoryStatusResponse shm;
  grpc::Status status =
      server_->stub().SystemSharedMemoryStatus(&context, {}, &shm);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_THAT(status.error_message(), HasSubstr("SystemSharedMemoryStatus"));
}

TEST_F(ProtocolTest, HealthServiceReportsServing) {
  auto health = grpc::health::v1::Health::NewStub(server_->channel());
  for (const std::string service : {"", "inference.GRPCInferenceService"}) {
    grpc::ClientContext context;
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(service);
    grpc::health::v1::HealthCheckResponse response;
    ASSERT_TRUE(health->Check(&context, request, &response).ok()) << service;
    EXPECT_EQ(response.status(),
              grpc::health::v1::HealthCheckResponse::SERVING);
  }
}

TEST_F(ProtocolTest, ReflectionListsTheInferenceService) {
  namespace reflection = ::inferd::testing::reflection;
  using Stream = grpc::ClientReaderWriter<reflection::ServerReflectionRequest,
                                          reflection::ServerReflectionResponse>;
  const grpc::internal::RpcMethod method(
      "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
      grpc::internal::RpcMethod::BIDI_STREAMING, server_->channel());
  grpc::ClientContext context;
  std::unique_ptr<Stream> stream(
      grpc::internal::ClientReaderWriterFactory<
          reflection::ServerReflectionRequest,
          reflection::ServerReflectionResponse>::Create(server_->channel()
                                                            .get(),
                                                        method, &context));
  reflection::ServerReflectionRequest request;
  request.set_list_services("");
  ASSERT_TRUE(stream->Write(request));
  reflection::ServerReflectionResponse response;
  ASSERT_TRUE(stream->Read(&response));
  std::vector<std::string> names;
  for (const auto& s : response.list_services_response().service()) {
    names.push_back(s.name());
  }
  EXPECT_THAT(names, ::testing::Contains(
                         std::string("inference.GRPCInferenceService")));
  EXPECT_THAT(names, ::testing::Contains(std::string("grpc.health.v1.Health")));

  // The service's file can be fetched, so tools need no .proto of their own.
  request.set_file_containing_symbol("inference.GRPCInferenceService");
  ASSERT_TRUE(stream->Write(request));
  ASSERT_TRUE(stream->Read(&response));
  ASSERT_EQ(
      response.file_descriptor_response().file_descriptor_proto_size() > 0,
      true)
      << response.error_response().error_message();
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
}

// A repository with broken models: each fails with its reason, the good one
// beside them serves, and the server is not ready.
TEST(BrokenRepositoryTest, BrokenModelsFailWithReasonsAndOthersServe) {
  if (TestModels("broken").empty())
    GTEST_FAIL() << "INFERD_TEST_MODELS is not set; run through ctest";
  std::unique_ptr<TestServer> server = TestServer::Start(TestModels("broken"));
  ASSERT_NE(server, nullptr);
  std::map<std::string, std::string> failures;
  for (const ModelStatus& model : server->repository().List()) {
    failures[model.name] = model.failure;
  }
  EXPECT_EQ(failures["thrower"], "");
  EXPECT_THAT(failures["broken_archive"],
              HasSubstr("not a loadable TorchScript archive"));
  EXPECT_THAT(failures["broken_input_name"],
              HasSubstr("input[0].name: \"features\" matches no argument"));
  EXPECT_THAT(failures["broken_shape"], HasSubstr("output[0]"));
  EXPECT_THAT(failures["broken_config"], HasSubstr("max_batch_size"));

  inference::ModelInferRequest request;
  request.set_model_name("thrower");
  AddRawInput(&request, "x", "FP32", {1, 2},
              RawBytes(std::vector<float>{1, 2}));
  inference::ModelInferResponse response;
  grpc::ClientContext c1;
  EXPECT_TRUE(server->stub().ModelInfer(&c1, request, &response).ok());

  request.set_model_name("broken_shape");
  grpc::ClientContext c2;
  grpc::Status status = server->stub().ModelInfer(&c2, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(status.error_message(), HasSubstr("no ready version"));

  grpc::ClientContext c3;
  inference::ServerReadyResponse ready;
  ASSERT_TRUE(server->stub().ServerReady(&c3, {}, &ready).ok());
  EXPECT_FALSE(ready.ready());
  auto health = grpc::health::v1::Health::NewStub(server->channel());
  grpc::ClientContext c4;
  grpc::health::v1::HealthCheckResponse health_response;
  ASSERT_TRUE(health->Check(&c4, {}, &health_response).ok());
  EXPECT_EQ(health_response.status(),
            grpc::health::v1::HealthCheckResponse::NOT_SERVING);
}

// --strict-readiness=false: the same repository's server is ready once its
// start-up load is done (a replica behind a load balancer keeps serving the
// models that work); each model's own readiness still tells the truth.
TEST(BrokenRepositoryTest, WithoutStrictReadinessTheServerIsReady) {
  if (TestModels("broken").empty())
    GTEST_FAIL() << "INFERD_TEST_MODELS is not set; run through ctest";
  ServerOptions options;
  options.strict_readiness = false;
  std::unique_ptr<TestServer> server =
      TestServer::StartWithOptions(TestModels("broken"), options);
  ASSERT_NE(server, nullptr);
  grpc::ClientContext c1;
  inference::ServerReadyResponse ready;
  ASSERT_TRUE(server->stub().ServerReady(&c1, {}, &ready).ok());
  EXPECT_TRUE(ready.ready());
  grpc::ClientContext c2;
  inference::ModelReadyRequest model;
  model.set_name("broken_shape");
  inference::ModelReadyResponse model_ready;
  ASSERT_TRUE(server->stub().ModelReady(&c2, model, &model_ready).ok());
  EXPECT_FALSE(model_ready.ready());
  auto health = grpc::health::v1::Health::NewStub(server->channel());
  grpc::ClientContext c3;
  grpc::health::v1::HealthCheckResponse health_response;
  ASSERT_TRUE(health->Check(&c3, {}, &health_response).ok());
  EXPECT_EQ(health_response.status(),
            grpc::health::v1::HealthCheckResponse::SERVING);
  // Draining still turns it off.
  server->server().StartDraining();
  grpc::ClientContext c4;
  ASSERT_TRUE(server->stub().ServerReady(&c4, {}, &ready).ok());
  EXPECT_FALSE(ready.ready());
}

}  // namespace
}  // namespace inferd::testing
