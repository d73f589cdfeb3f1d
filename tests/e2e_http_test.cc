// The HTTP/REST front end against a real server and real models: every
// endpoint, JSON and binary tensors, errors, and the same answers as gRPC.

#include <httplib.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/http_api.h"
#include "tests/test_server.h"

namespace inferd::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

std::string TestModels(const std::string& name) {
  const char* root = std::getenv("INFERD_TEST_MODELS");
  return root == nullptr ? "" : std::string(root) + "/" + name;
}

// A TestServer with the HTTP front end on its core.
struct HttpServer {
  std::unique_ptr<TestServer> grpc;
  AccessPolicy access;
  std::unique_ptr<HttpFrontEnd> http;
  std::unique_ptr<httplib::Client> client;

  static std::unique_ptr<HttpServer> Start(
      std::unique_ptr<TestServer> grpc, AccessPolicy access = AccessPolicy()) {
    auto server = std::make_unique<HttpServer>();
    server->grpc = std::move(grpc);
    server->access = std::move(access);
    http::ServerOptions options;
    auto front = HttpFrontEnd::Start(options, server->grpc->server().core(),
                                     &server->access);
    EXPECT_TRUE(front.ok()) << front.status();
    if (!front.ok()) return nullptr;
    server->http = std::move(*front);
    server->client =
        std::make_unique<httplib::Client>("127.0.0.1", server->http->port());
    server->client->set_read_timeout(60, 0);
    server->client->set_tcp_nodelay(true);
    return server;
  }
};

const std::vector<float> kTwoRows = {5.1f, 3.5f, 1.4f, 0.2f,
                                     6.3f, 3.3f, 6.0f, 2.5f};

json IrisJson(const std::vector<float>& rows) {
  return {{"inputs",
           {{{"name", "features"},
             {"datatype", "FP32"},
             {"shape", {static_cast<int64_t>(rows.size() / 4), 4}},
             {"data", rows}}}}};
}

class HttpTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (TestModels("good").empty()) return;
    server_ =
        HttpServer::Start(TestServer::Start(TestModels("good"))).release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    if (server_ == nullptr) GTEST_FAIL() << "INFERD_TEST_MODELS is not set";
  }

  static httplib::Client& client() { return *server_->client; }

  static httplib::Result PostJson(const std::string& path, const json& body) {
    return client().Post(path, body.dump(), "application/json");
  }

  static HttpServer* server_;
};

HttpServer* HttpTest::server_ = nullptr;

TEST_F(HttpTest, HealthAndReadiness) {
  auto live = client().Get("/v2/health/live");
  ASSERT_TRUE(live);
  EXPECT_EQ(live->status, 200);
  auto ready = client().Get("/v2/health/ready");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200);
  EXPECT_EQ(client().Get("/v2/models/iris/ready")->status, 200);
  EXPECT_EQ(client().Get("/v2/models/iris/versions/1/ready")->status, 200);
  EXPECT_EQ(client().Get("/v2/models/iris/versions/7/ready")->status, 400);
  EXPECT_EQ(client().Get("/v2/models/nope/ready")->status, 400);
}

TEST_F(HttpTest, ServerAndModelMetadata) {
  auto server = client().Get("/v2");
  ASSERT_TRUE(server);
  ASSERT_EQ(server->status, 200);
  const json metadata = json::parse(server->body);
  EXPECT_EQ(metadata["name"], "inferd");
  EXPECT_THAT(metadata["extensions"].get<std::vector<std::string>>(),
              ::testing::IsSupersetOf({"binary_tensor_data", "statistics",
                                       "model_repository", "classification"}));

  auto model = client().Get("/v2/models/iris");
  ASSERT_TRUE(model);
  ASSERT_EQ(model->status, 200);
  const json iris = json::parse(model->body);
  EXPECT_EQ(iris["name"], "iris");
  EXPECT_EQ(iris["versions"], json::array({"1"}));
  EXPECT_EQ(iris["inputs"][0]["name"], "features");
  EXPECT_EQ(iris["inputs"][0]["datatype"], "FP32");
  EXPECT_EQ(iris["inputs"][0]["shape"], json::array({-1, 4}));
  EXPECT_EQ(client().Get("/v2/models/iris/versions/1")->status, 200);

  auto config = client().Get("/v2/models/iris/config");
  ASSERT_TRUE(config);
  ASSERT_EQ(config->status, 200);
  const json parsed = json::parse(config->body);
  EXPECT_EQ(parsed["max_batch_size"], 64);
  EXPECT_EQ(parsed["output"][0]["label_filename"], "labels.txt");
}

TEST_F(HttpTest, JsonInferGivesTheSameAnswerAsGrpc) {
  json request = IrisJson(kTwoRows);
  request["id"] = "request-7";
  auto got = PostJson("/v2/models/iris/infer", request);
  ASSERT_TRUE(got);
  ASSERT_EQ(got->status, 200) << got->body;
  EXPECT_EQ(got->get_header_value("Content-Type"), "application/json");
  const json answer = json::parse(got->body);
  EXPECT_EQ(answer["id"], "request-7");
  EXPECT_EQ(answer["model_name"], "iris");
  EXPECT_EQ(answer["model_version"], "1");
  ASSERT_EQ(answer["outputs"].size(), 1u);
  EXPECT_EQ(answer["outputs"][0]["name"], "probabilities");
  EXPECT_EQ(answer["outputs"][0]["shape"], json::array({2, 3}));
  const auto http_p = answer["outputs"][0]["data"].get<std::vector<float>>();

  inference::ModelInferRequest grpc_request;
  grpc_request.set_model_name("iris");
  AddRawInput(&grpc_request, "features", "FP32", {2, 4}, RawBytes(kTwoRows));
  inference::ModelInferResponse grpc_response;
  grpc::ClientContext context;
  ASSERT_TRUE(server_->grpc->stub()
                  .ModelInfer(&context, grpc_request, &grpc_response)
                  .ok());
  EXPECT_EQ(http_p, FromRaw<float>(grpc_response.raw_output_contents(0)));
}

TEST_F(HttpTest, BinaryInputsAndOutputs) {
  const json header = {
      {"inputs",
       {{{"name", "features"},
         {"datatype", "FP32"},
         {"shape", {2, 4}},
         {"parameters", {{"binary_data_size", 32}}}}}},
      {"outputs",
       {{{"name", "probabilities"}, {"parameters", {{"binary_data", true}}}}}}};
  const std::string json_text = header.dump();
  httplib::Headers headers = {
      {"Inference-Header-Content-Length", std::to_string(json_text.size())}};
  auto got =
      client().Post("/v2/models/iris/infer", headers,
                    json_text + RawBytes(kTwoRows), "application/octet-stream");
  ASSERT_TRUE(got);
  ASSERT_EQ(got->status, 200) << got->body;
  const size_t json_length =
      std::stoul(got->get_header_value("Inference-Header-Content-Length"));
  const json answer = json::parse(got->body.substr(0, json_length));
  EXPECT_EQ(answer["outputs"][0]["parameters"]["binary_data_size"], 24);
  const std::vector<float> binary =
      FromRaw<float>(got->body.substr(json_length));

  auto as_json = PostJson("/v2/models/iris/infer", IrisJson(kTwoRows));
  ASSERT_TRUE(as_json);
  EXPECT_EQ(binary, json::parse(as_json->body)["outputs"][0]["data"]
                        .get<std::vector<float>>());
}

TEST_F(HttpTest, Classification) {
  json request = IrisJson(kTwoRows);
  request["outputs"] = {
      {{"name", "probabilities"}, {"parameters", {{"classification", 1}}}}};
  auto got = PostJson("/v2/models/iris/infer", request);
  ASSERT_TRUE(got);
  ASSERT_EQ(got->status, 200) << got->body;
  const json answer = json::parse(got->body);
  EXPECT_EQ(answer["outputs"][0]["datatype"], "BYTES");
  const auto top = answer["outputs"][0]["data"].get<std::vector<std::string>>();
  ASSERT_EQ(top.size(), 2u);
  EXPECT_THAT(top[0], HasSubstr(":0:setosa"));
  EXPECT_THAT(top[1], HasSubstr(":2:virginica"));
}

TEST_F(HttpTest, ErrorsNameWhatWasWrong) {
  auto unknown = PostJson("/v2/models/nope/infer", IrisJson(kTwoRows));
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
  EXPECT_THAT(json::parse(unknown->body)["error"].get<std::string>(),
              HasSubstr("nope"));

  auto bad_shape = PostJson("/v2/models/iris/infer",
                            IrisJson({1, 2, 3, 4, 5}));  // 1 row of 4, 5 values
  ASSERT_TRUE(bad_shape);
  EXPECT_EQ(bad_shape->status, 400);
  EXPECT_THAT(bad_shape->body, HasSubstr("features"));

  auto malformed = client().Post("/v2/models/iris/infer", "{\"inputs\": [",
                                 "application/json");
  ASSERT_TRUE(malformed);
  EXPECT_EQ(malformed->status, 400);
  EXPECT_THAT(malformed->body, HasSubstr("malformed JSON"));

  auto wrong_method = client().Get("/v2/models/iris/infer");
  ASSERT_TRUE(wrong_method);
  EXPECT_EQ(wrong_method->status, 400);
  EXPECT_THAT(wrong_method->body, HasSubstr("use POST"));

  auto no_route = client().Get("/v3/anything");
  ASSERT_TRUE(no_route);
  EXPECT_EQ(no_route->status, 404);

  auto shm = client().Get("/v2/systemsharedmemory/status");
  ASSERT_TRUE(shm);
  EXPECT_EQ(shm->status, 501);
  EXPECT_THAT(shm->body, HasSubstr("not implemented"));

  // The server still answers after all that.
  auto fine = PostJson("/v2/models/iris/infer", IrisJson(kTwoRows));
  ASSERT_TRUE(fine);
  EXPECT_EQ(fine->status, 200);
}

TEST_F(HttpTest, StatisticsCountHttpInferences) {
  auto before = client().Get("/v2/models/iris/stats");
  ASSERT_TRUE(before);
  ASSERT_EQ(before->status, 200) << before->body;
  const auto count = [](const std::string& body) {
    return json::parse(body)["model_stats"][0]["inference_count"]
        .get<int64_t>();
  };
  const int64_t start = count(before->body);
  ASSERT_EQ(PostJson("/v2/models/iris/infer", IrisJson(kTwoRows))->status, 200);
  auto after = client().Get("/v2/models/iris/versions/1/stats");
  ASSERT_TRUE(after);
  EXPECT_EQ(count(after->body), start + 2);
  const json stats = json::parse(after->body)["model_stats"][0];
  EXPECT_EQ(stats["name"], "iris");
  EXPECT_TRUE(stats["inference_stats"]["success"]["ns"].is_number());
  // Every duration inferd measures is filled, so clients reading
  // compute_input or compute_output find them.
  const json& inference = stats["inference_stats"];
  const auto success = inference["success"]["count"].get<int64_t>();
  for (const char* field : {"queue", "compute_input", "compute_infer"}) {
    EXPECT_EQ(inference[field]["count"].get<int64_t>(), success) << field;
  }
  EXPECT_EQ(inference["compute_output"]["count"].get<int64_t>(), success);
  EXPECT_GT(inference["compute_output"]["ns"].get<int64_t>(), 0);

  // The metrics tell the protocols apart.
  const std::string text = metrics::Exposition(server_->grpc->metrics());
  EXPECT_THAT(text, ::testing::HasSubstr(
                        "inferd_requests_total{code=\"OK\",model=\"iris\","
                        "protocol=\"http\",version=\"1\"}"));
  EXPECT_THAT(
      text, ::testing::HasSubstr("inferd_request_duration_seconds_count{model="
                                 "\"iris\",protocol=\"http\",version=\"1\"}"));

  auto all = client().Get("/v2/models/stats");
  ASSERT_TRUE(all);
  EXPECT_GE(json::parse(all->body)["model_stats"].size(), 2u);
  EXPECT_EQ(client().Get("/v2/models/nope/stats")->status, 404);
}

TEST_F(HttpTest, RepositoryControlNeedsExplicitMode) {
  auto index = client().Post("/v2/repository/index", "", "application/json");
  ASSERT_TRUE(index);
  ASSERT_EQ(index->status, 200);
  const json models = json::parse(index->body);
  ASSERT_TRUE(models.is_array());
  bool iris_ready = false;
  for (const json& model : models) {
    iris_ready |= model["name"] == "iris" && model["state"] == "READY";
  }
  EXPECT_TRUE(iris_ready) << index->body;
  auto load =
      client().Post("/v2/repository/models/iris/load", "", "application/json");
  ASSERT_TRUE(load);
  EXPECT_EQ(load->status, 400);
  EXPECT_THAT(load->body, HasSubstr("--model-control-mode=explicit"));
}

TEST(HttpExplicitModeTest, LoadUnloadAndRefusedLoadParameters) {
  if (TestModels("good").empty()) GTEST_FAIL() << "INFERD_TEST_MODELS unset";
  auto server = HttpServer::Start(TestServer::Start(
      TestModels("good"), nullptr, ControlMode::kExplicit, absl::Seconds(1)));
  ASSERT_NE(server, nullptr);
  httplib::Client& client = *server->client;
  EXPECT_EQ(client.Get("/v2/models/iris/ready")->status, 400);
  // Every model directory is listed, loaded or not.
  auto index = client.Post("/v2/repository/index", "", "application/json");
  ASSERT_TRUE(index);
  bool iris_listed = false;
  for (const json& model : json::parse(index->body)) {
    if (model["name"] == "iris") {
      iris_listed = true;
      EXPECT_EQ(model["state"], "") << index->body;
    }
  }
  EXPECT_TRUE(iris_listed) << index->body;
  // A config that is no complete model config is refused, naming what is
  // missing; file contents are not implemented; neither loads anything.
  auto incomplete = client.Post(
      "/v2/repository/models/iris/load",
      json{{"parameters", {{"config", "{\"max_batch_size\": 8}"}}}}.dump(),
      "application/json");
  ASSERT_TRUE(incomplete);
  EXPECT_EQ(incomplete->status, 400);
  EXPECT_THAT(incomplete->body, HasSubstr("parameters.config: "));
  EXPECT_THAT(incomplete->body, HasSubstr("input"));
  auto files =
      client.Post("/v2/repository/models/iris/load",
                  json{{"parameters", {{"file:1/model.pt", "eA=="}}}}.dump(),
                  "application/json");
  ASSERT_TRUE(files);
  EXPECT_EQ(files->status, 501);
  EXPECT_THAT(files->body,
              HasSubstr("\\\"file:1/model.pt\\\" is not implemented"));
  auto not_text = client.Post("/v2/repository/models/iris/load",
                              json{{"parameters", {{"config", 5}}}}.dump(),
                              "application/json");
  ASSERT_TRUE(not_text);
  EXPECT_EQ(not_text->status, 400);
  EXPECT_THAT(not_text->body, HasSubstr("\\\"config\\\" must be a string"));
  auto unknown = client.Post("/v2/repository/models/iris/load",
                             json{{"parameters", {{"colour", true}}}}.dump(),
                             "application/json");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 400);
  EXPECT_THAT(unknown->body,
              HasSubstr("unknown RepositoryModelLoad parameter \\\"colour\\\"; "
                        "expected \\\"config\\\""));
  EXPECT_EQ(client.Get("/v2/models/iris/ready")->status, 400);

  auto load =
      client.Post("/v2/repository/models/iris/load", "", "application/json");
  ASSERT_TRUE(load);
  EXPECT_EQ(load->status, 200) << load->body;
  EXPECT_EQ(client.Get("/v2/models/iris/ready")->status, 200);
  auto unload =
      client.Post("/v2/repository/models/iris/unload", "", "application/json");
  ASSERT_TRUE(unload);
  EXPECT_EQ(unload->status, 200) << unload->body;
  auto escape =
      client.Post("/v2/repository/models/./load", "", "application/json");
  ASSERT_TRUE(escape);
  EXPECT_EQ(escape->status, 400) << escape->body;
}

TEST(HttpAccessTest, RestrictedApisNeedTheirHeader) {
  if (TestModels("good").empty()) GTEST_FAIL() << "INFERD_TEST_MODELS unset";
  auto access = AccessPolicy::Parse({"inference,model-config:x-key=secret"});
  ASSERT_TRUE(access.ok()) << access.status();
  auto server =
      HttpServer::Start(TestServer::Start(TestModels("good")), *access);
  ASSERT_NE(server, nullptr);
  httplib::Client& client = *server->client;
  auto refused = client.Post("/v2/models/iris/infer", IrisJson(kTwoRows).dump(),
                             "application/json");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 403);
  EXPECT_THAT(refused->body, HasSubstr("x-key"));
  EXPECT_THAT(refused->body, ::testing::Not(HasSubstr("secret")));
  EXPECT_EQ(client.Get("/v2/models/iris/config")->status, 403);
  auto wrong = client.Post("/v2/models/iris/infer", {{"X-Key", "guess"}},
                           IrisJson(kTwoRows).dump(), "application/json");
  EXPECT_EQ(wrong->status, 403);
  auto allowed = client.Post("/v2/models/iris/infer", {{"X-Key", "secret"}},
                             IrisJson(kTwoRows).dump(), "application/json");
  ASSERT_TRUE(allowed);
  EXPECT_EQ(allowed->status, 200);
  // Groups not restricted stay open.
  EXPECT_EQ(client.Get("/v2/models/iris")->status, 200);
  EXPECT_EQ(client.Get("/v2/health/ready")->status, 200);
}

}  // namespace
}  // namespace inferd::testing
