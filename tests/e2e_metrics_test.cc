// What a server exports after known traffic: counts by code that equal what
// was sent, labels only from models and versions that exist.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/test_server.h"

namespace inferd::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

grpc::Status Send(TestServer& server, const std::string& model,
                  const std::string& version, int64_t rows, int features) {
  inference::ModelInferRequest request;
  request.set_model_name(model);
  request.set_model_version(version);
  AddRawInput(&request, "features", "FP32", {rows, features},
              RawBytes(std::vector<float>(rows * features, 1.0f)));
  inference::ModelInferResponse response;
  grpc::ClientContext context;
  return server.stub().ModelInfer(&context, request, &response);
}

TEST(MetricsEndToEndTest, CountersEqualTheTrafficSent) {
  if (TestModels("good").empty())
    GTEST_FAIL() << "INFERD_TEST_MODELS is not set";
  auto server = TestServer::Start(TestModels("good"));
  ASSERT_NE(server, nullptr);
  for (int i = 0; i < 7; ++i) ASSERT_TRUE(Send(*server, "iris", "", 2, 4).ok());
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Send(*server, "iris", "", 1, 5).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
  EXPECT_EQ(Send(*server, "no-such-model", "", 1, 4).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Send(*server, "iris", "42", 1, 4).error_code(),
            grpc::StatusCode::NOT_FOUND);

  const std::string text = metrics::Exposition(server->metrics());
  EXPECT_THAT(text,
              HasSubstr("inferd_requests_total{code=\"OK\",model=\"iris\","
                        "protocol=\"grpc\",version=\"1\"} 7\n"));
  EXPECT_THAT(text,
              HasSubstr("inferd_requests_total{code=\"INVALID_ARGUMENT\","
                        "model=\"iris\",protocol=\"grpc\",version=\"1\"} 3\n"));
  // The unknown model's name never becomes a label value.
  EXPECT_THAT(text,
              HasSubstr("inferd_requests_total{code=\"NOT_FOUND\","
                        "model=\"\",protocol=\"grpc\",version=\"\"} 1\n"));
  EXPECT_THAT(text, Not(HasSubstr("no-such-model")));
  EXPECT_THAT(text,
              HasSubstr("inferd_requests_total{code=\"NOT_FOUND\","
                        "model=\"iris\",protocol=\"grpc\",version=\"\"} 1\n"));
  EXPECT_THAT(text, Not(HasSubstr("version=\"42\"")));
  // 7 requests of 2 rows; invalid ones never ran.
  EXPECT_THAT(text, HasSubstr("inferd_inferences_total{model=\"iris\","
                              "version=\"1\"} 14\n"));
  EXPECT_THAT(text,
              HasSubstr("inferd_request_duration_seconds_count{model="
                        "\"iris\",protocol=\"grpc\",version=\"1\"} 10\n"));
  EXPECT_THAT(text, HasSubstr("inferd_queue_duration_seconds_count{model="
                              "\"iris\",version=\"1\"} 7\n"));
  EXPECT_THAT(
      text, HasSubstr("inferd_model_ready{model=\"iris\",version=\"1\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("inferd_model_loads_total{model=\"iris\","
                              "result=\"success\",version=\"1\"} 1\n"));
}

TEST(MetricsEndToEndTest, FailedLoadsAreCountedAndNotReady) {
  if (TestModels("broken").empty())
    GTEST_FAIL() << "INFERD_TEST_MODELS is not set";
  auto server = TestServer::Start(TestModels("broken"));
  ASSERT_NE(server, nullptr);
  const std::string text = metrics::Exposition(server->metrics());
  EXPECT_THAT(text, HasSubstr("inferd_model_loads_total{model=\"broken_shape\","
                              "result=\"failure\",version=\"1\"} 1\n"));
  EXPECT_THAT(text,
              HasSubstr("inferd_model_loads_total{model=\"broken_config\","
                        "result=\"failure\",version=\"\"} 1\n"));
  EXPECT_THAT(text,
              Not(HasSubstr("inferd_model_ready{model=\"broken_shape\"")));
  EXPECT_THAT(
      text,
      HasSubstr("inferd_model_ready{model=\"thrower\",version=\"1\"} 1\n"));
}

}  // namespace
}  // namespace inferd::testing
