#include "metrics/metrics.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>
#include <vector>

#include "metrics/exporter.h"

namespace inferd::metrics {
namespace {

// A plain HTTP/1.0 GET over loopback; returns the whole response.
std::string HttpGet(int port, const std::string& path) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string response;
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) ==
      0) {
    const std::string request = "GET " + path + " HTTP/1.0\r\n\r\n";
    send(fd, request.data(), request.size(), 0);
    char buffer[4096];
    for (ssize_t n; (n = recv(fd, buffer, sizeof(buffer), 0)) > 0;) {
      response.append(buffer, static_cast<size_t>(n));
    }
  }
  close(fd);
  return response;
}

using ::testing::HasSubstr;
using ::testing::Not;

TEST(ServerMetricsTest, CountsRequestsByProtocolAndCodeForAVersion) {
  ServerMetrics metrics;
  ModelVersionMetrics* v1 = metrics.ForVersion("iris", "1");
  EXPECT_EQ(metrics.ForVersion("iris", "1"), v1);  // one handle per version
  v1->CountRequest(Protocol::kGrpc, absl::StatusCode::kOk,
                   absl::Milliseconds(2));
  v1->CountRequest(Protocol::kGrpc, absl::StatusCode::kOk,
                   absl::Milliseconds(3));
  v1->CountRequest(Protocol::kGrpc, absl::StatusCode::kInvalidArgument,
                   absl::Microseconds(80));
  v1->CountRequest(Protocol::kHttp, absl::StatusCode::kOk,
                   absl::Milliseconds(4));
  const std::string text = Exposition(metrics);
  EXPECT_THAT(text,
              HasSubstr("inferd_requests_total{code=\"OK\",model=\"iris\","
                        "protocol=\"grpc\",version=\"1\"} 2"));
  EXPECT_THAT(text,
              HasSubstr("inferd_requests_total{code=\"OK\",model=\"iris\","
                        "protocol=\"http\",version=\"1\"} 1"));
  EXPECT_THAT(text, HasSubstr("inferd_requests_total{code=\"INVALID_ARGUMENT\","
                              "model=\"iris\",protocol=\"grpc\",version="
                              "\"1\"} 1"));
  // Only what happened is exported.
  EXPECT_THAT(text, Not(HasSubstr("code=\"INTERNAL\"")));
  EXPECT_THAT(text, Not(HasSubstr("code=\"INVALID_ARGUMENT\",model=\"iris\","
                                  "protocol=\"http\"")));
  EXPECT_THAT(text, HasSubstr("inferd_request_duration_seconds_count{model="
                              "\"iris\",protocol=\"grpc\",version=\"1\"} 3"));
  EXPECT_THAT(text, HasSubstr("inferd_request_duration_seconds_count{model="
                              "\"iris\",protocol=\"http\",version=\"1\"} 1"));
  // 80 µs lands in the 100 µs bucket, the 2 and 3 ms calls do not.
  EXPECT_THAT(text, HasSubstr("inferd_request_duration_seconds_bucket{model="
                              "\"iris\",protocol=\"grpc\",version=\"1\","
                              "le=\"0.0001\"} 1"));
  EXPECT_THAT(text, HasSubstr("inferd_request_duration_seconds_bucket{model="
                              "\"iris\",protocol=\"grpc\",version=\"1\","
                              "le=\"0.005\"} 3"));
}

TEST(ServerMetricsTest, BatchesFeedInferencesExecutionsAndBatchSize) {
  ServerMetrics metrics;
  ModelVersionMetrics* v = metrics.ForVersion("mlp", "2");
  v->ObserveBatch(64, absl::Milliseconds(4));
  v->ObserveBatch(3, absl::Milliseconds(1));
  v->ObserveQueue(absl::Microseconds(300));
  const std::string text = Exposition(metrics);
  EXPECT_THAT(
      text,
      HasSubstr("inferd_inferences_total{model=\"mlp\",version=\"2\"} 67"));
  EXPECT_THAT(
      text,
      HasSubstr("inferd_executions_total{model=\"mlp\",version=\"2\"} 2"));
  EXPECT_THAT(
      text,
      HasSubstr(
          "inferd_batch_size_bucket{model=\"mlp\",version=\"2\",le=\"4\"} 1"));
  EXPECT_THAT(
      text, HasSubstr("inferd_batch_size_sum{model=\"mlp\",version=\"2\"} 67"));
  EXPECT_THAT(text, HasSubstr("inferd_compute_duration_seconds_count{model="
                              "\"mlp\",version=\"2\"} 2"));
  EXPECT_THAT(text, HasSubstr("inferd_queue_duration_seconds_count{model="
                              "\"mlp\",version=\"2\"} 1"));
}

TEST(ServerMetricsTest, GaugesAndLoadsCarryModelAndVersion) {
  ServerMetrics metrics;
  ModelVersionMetrics* v = metrics.ForVersion("iris", "3");
  v->SetQueueDepth(7);
  v->SetQueueCapacity(100);
  v->SetReady(true);
  metrics.CountLoad("iris", "3", true);
  metrics.CountLoad("bad", "", false);
  const std::string text = Exposition(metrics);
  EXPECT_THAT(text,
              HasSubstr("inferd_queue_depth{model=\"iris\",version=\"3\"} 7"));
  EXPECT_THAT(
      text,
      HasSubstr("inferd_queue_capacity{model=\"iris\",version=\"3\"} 100"));
  EXPECT_THAT(text,
              HasSubstr("inferd_model_ready{model=\"iris\",version=\"3\"} 1"));
  EXPECT_THAT(text, HasSubstr("inferd_model_loads_total{model=\"iris\",result="
                              "\"success\",version=\"3\"} 1"));
  EXPECT_THAT(text, HasSubstr("inferd_model_loads_total{model=\"bad\",result="
                              "\"failure\",version=\"\"} 1"));
}

TEST(ServerMetricsTest, UnresolvedRequestsCreateNoPerVersionSeries) {
  ServerMetrics metrics;
  metrics.CountUnresolvedRequest(
      Protocol::kHttp, "", absl::StatusCode::kNotFound, absl::Microseconds(40));
  const std::string text = Exposition(metrics);
  EXPECT_THAT(text, HasSubstr("inferd_requests_total{code=\"NOT_FOUND\",model="
                              "\"\",protocol=\"http\",version=\"\"} 1"));
  EXPECT_THAT(text, Not(HasSubstr("inferd_model_ready{")));
  EXPECT_THAT(text, Not(HasSubstr("inferd_queue_depth{")));
}

TEST(ServerMetricsTest, ProcessMetricsUseTheStandardNames) {
  ServerMetrics metrics;
  const std::string text = Exposition(metrics);
  EXPECT_THAT(text, HasSubstr("# TYPE process_cpu_seconds_total counter"));
  EXPECT_THAT(text, HasSubstr("# TYPE process_resident_memory_bytes gauge"));
  EXPECT_THAT(text, HasSubstr("# TYPE process_start_time_seconds gauge"));
  EXPECT_THAT(text, Not(HasSubstr("process_resident_memory_bytes 0\n")));
}

TEST(ServerMetricsTest, ConcurrentCountsAreNotLost) {
  ServerMetrics metrics;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&metrics] {
      for (int i = 0; i < 1000; ++i) {
        metrics.ForVersion("m", "1")->CountRequest(
            Protocol::kGrpc, absl::StatusCode::kOk, absl::Microseconds(1));
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_THAT(
      Exposition(metrics),
      HasSubstr(
          "inferd_requests_total{code=\"OK\",model=\"m\",protocol=\"grpc\","
          "version=\"1\"} 4000"));
}

http::ServerOptions OnLoopback(int port = 0) {
  http::ServerOptions options;
  options.host = "127.0.0.1";
  options.port = port;
  return options;
}

TEST(MetricsExporterTest, ServesTheExpositionOverHttp) {
  ServerMetrics metrics;
  metrics.ForVersion("iris", "1")
      ->CountRequest(Protocol::kGrpc, absl::StatusCode::kOk,
                     absl::Milliseconds(1));
  auto exporter = MetricsExporter::Start(OnLoopback(), &metrics);
  ASSERT_TRUE(exporter.ok()) << exporter.status();
  ASSERT_GT((*exporter)->port(), 0);
  const std::string reply = HttpGet((*exporter)->port(), "/metrics");
  EXPECT_THAT(reply, ::testing::StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(reply, HasSubstr("Content-Type: text/plain; version=0.0.4"));
  EXPECT_THAT(reply,
              HasSubstr("inferd_requests_total{code=\"OK\",model=\"iris\""));
  EXPECT_THAT(HttpGet((*exporter)->port(), "/other"),
              ::testing::StartsWith("HTTP/1.1 404 Not Found"));
}

TEST(MetricsExporterTest, BusyPortIsUnavailable) {
  ServerMetrics metrics;
  auto exporter = MetricsExporter::Start(OnLoopback(), &metrics);
  ASSERT_TRUE(exporter.ok()) << exporter.status();
  auto clash =
      MetricsExporter::Start(OnLoopback((*exporter)->port()), &metrics);
  EXPECT_EQ(clash.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(clash.status().message(), HasSubstr("cannot serve metrics on"));
}

TEST(MetricsResponseTest, RefusesOtherMethodsAndPaths) {
  ServerMetrics metrics;
  http::Request request;
  request.method = "POST";
  request.path = "/metrics";
  EXPECT_EQ(MetricsResponse(request, metrics).status, 405);
  request.method = "GET";
  request.path = "/metrics/x";
  EXPECT_EQ(MetricsResponse(request, metrics).status, 404);
  request.path = "/metrics";
  const http::Response ok = MetricsResponse(request, metrics);
  EXPECT_EQ(ok.status, 200);
  EXPECT_THAT(ok.body, HasSubstr("process_cpu_seconds_total"));
}

}  // namespace
}  // namespace inferd::metrics
