// The client library (client/include/inferd/client.h) against a real inferd
// in this process serving the iris model: inference, classification, a
// deadline that expires while the model is held, the server's errors as they
// came, and the retry rule against a port where nothing listens.

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "inferd/client.h"
#include "tests/gated_model.h"
#include "tests/test_server.h"

namespace inferd::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

// Setosa, versicolor, virginica.
const std::vector<float> kFlowers = {5.1f, 3.5f, 1.4f, 0.2f,  //
                                     6.4f, 3.2f, 4.5f, 1.5f,  //
                                     6.3f, 3.3f, 6.0f, 2.5f};

client::InferRequest IrisRequest() {
  client::InferRequest request("iris");
  request.AddInput("features", {3, 4}, kFlowers);
  return request;
}

class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string models = TestModels("good");
    if (models.empty()) {
      GTEST_FAIL() << "INFERD_TEST_MODELS is not set; run through ctest";
    }
    // Explicit mode and iris alone: the gated loader holds what it loaded
    // last.
    server_ = TestServer::Start(models, &loader_, ControlMode::kExplicit,
                                absl::Seconds(15));
    ASSERT_NE(server_, nullptr);
    ASSERT_TRUE(server_->repository().LoadModel("iris").ok());
  }

  void TearDown() override {
    if (loader_.model_ != nullptr &&
        !loader_.model_->release.HasBeenNotified()) {
      loader_.model_->release.Notify();
    }
  }

  client::Client Client() const {
    return client::Client(absl::StrCat("127.0.0.1:", server_->port()));
  }

  GatedLoader loader_;
  std::unique_ptr<TestServer> server_;
};

TEST_F(ClientTest, InferReturnsTheProbabilities) {
  client::InferRequest request = IrisRequest();
  request.SetId("call-1");
  const client::InferResult result =
      Client().Infer(request, std::chrono::seconds(30));
  ASSERT_TRUE(result.ok()) << result.status().error_message();
  EXPECT_EQ(result.model_name(), "iris");
  EXPECT_EQ(result.model_version(), "1");
  EXPECT_EQ(result.id(), "call-1");
  EXPECT_EQ(result.connect_attempts(), 1);
  const client::Tensor* output = result.output("probabilities");
  ASSERT_NE(output, nullptr);
  EXPECT_EQ(output->datatype(), "FP32");
  EXPECT_THAT(output->shape(), ElementsAre(3, 3));
  const std::optional<std::vector<float>> p = output->As<float>();
  ASSERT_TRUE(p.has_value());
  for (int row = 0; row < 3; ++row) {
    const float* q = p->data() + 3 * row;
    EXPECT_NEAR(q[0] + q[1] + q[2], 1.0, 1e-5);
    // Row i is class i.
    EXPECT_GT(q[row], 0.5) << "row " << row;
  }
}

TEST_F(ClientTest, ClassificationNamesTheClasses) {
  client::InferRequest request = IrisRequest();
  request.AddClassification("probabilities");
  const client::InferResult result =
      Client().Infer(request, std::chrono::seconds(30));
  ASSERT_TRUE(result.ok()) << result.status().error_message();
  const client::Tensor* output = result.output("probabilities");
  ASSERT_NE(output, nullptr);
  EXPECT_EQ(output->datatype(), "BYTES");
  EXPECT_THAT(output->shape(), ElementsAre(3, 1));
  const auto classes = output->Classifications();
  ASSERT_TRUE(classes.has_value());
  ASSERT_EQ(classes->size(), 3u);
  const char* kLabels[] = {"setosa", "versicolor", "virginica"};
  for (int row = 0; row < 3; ++row) {
    EXPECT_EQ((*classes)[row].index, row);
    EXPECT_EQ((*classes)[row].label, kLabels[row]);
    EXPECT_GT((*classes)[row].score, 0.5);
  }
}

TEST_F(ClientTest, ServerErrorsKeepTheirCodeAndMessage) {
  const client::Client client = Client();
  client::InferRequest wrong_shape("iris");
  wrong_shape.AddInput("features", {2, 5}, std::vector<float>(10, 1.0f));
  const client::InferResult invalid =
      client.Infer(wrong_shape, std::chrono::seconds(30));
  EXPECT_EQ(invalid.status().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(invalid.status().error_message(),
            "input \"features\": expected shape [-1,4], got [2,5]");
  // Sent once, not retried.
  EXPECT_EQ(invalid.connect_attempts(), 1);

  client::InferRequest unknown("no_such_model");
  unknown.AddInput("features", {1, 4}, std::vector<float>{1, 2, 3, 4});
  const client::InferResult missing =
      client.Infer(unknown, std::chrono::seconds(30));
  EXPECT_EQ(missing.status().error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(missing.status().error_message(), HasSubstr("no_such_model"));
  EXPECT_TRUE(missing.outputs().empty());
}

TEST_F(ClientTest, DeadlineExpiresWhileTheModelIsHeld) {
  ASSERT_NE(loader_.model_, nullptr);
  loader_.model_->Arm();
  const Clock::time_point start = Clock::now();
  const client::InferResult late =
      Client().Infer(IrisRequest(), std::chrono::milliseconds(500));
  EXPECT_EQ(late.status().error_code(), grpc::StatusCode::DEADLINE_EXCEEDED)
      << late.status().error_message();
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(10));
  EXPECT_EQ(late.connect_attempts(), 1);
  loader_.model_->release.Notify();
  // The server goes on serving.
  EXPECT_TRUE(Client().Infer(IrisRequest(), std::chrono::seconds(30)).ok());
}

// A port on 127.0.0.1 that is bound but not listening: connections to it
// are refused, and nothing else can take it while the socket lives.
class RefusingPort {
 public:
  RefusingPort() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    if (fd_ < 0 ||
        bind(fd_, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      ADD_FAILURE() << "cannot bind a port on 127.0.0.1";
      return;
    }
    port_ = ntohs(address.sin_port);
  }
  ~RefusingPort() {
    if (fd_ >= 0) close(fd_);
  }
  std::string target() const { return absl::StrCat("127.0.0.1:", port_); }
  // Frees the port (for a server to take).
  void Close() {
    close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST(ClientRetryTest, NothingListeningIsUnavailableAfterBoundedAttempts) {
  const RefusingPort port;
  client::ClientOptions options;
  options.max_connect_attempts = 3;
  options.initial_backoff = std::chrono::milliseconds(50);
  const client::Client client(port.target(), options);
  const Clock::time_point start = Clock::now();
  const client::InferResult result =
      client.Infer(IrisRequest(), std::chrono::seconds(60));
  const auto elapsed = Clock::now() - start;
  EXPECT_EQ(result.status().error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(
      result.status().error_message(),
      HasSubstr("3 connection attempt(s) to " + port.target() + " failed"));
  EXPECT_THAT(result.status().error_message(),
              HasSubstr("the request was not sent"));
  EXPECT_EQ(result.connect_attempts(), 3);
  // Bounded by the attempts (3 x connect_timeout + backoff), far from the
  // 60 s deadline.
  EXPECT_LT(elapsed, std::chrono::seconds(15));
  std::printf("3 attempts against a refusing port took %lld ms\n",
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::milliseconds>(elapsed)
                      .count()));
}

TEST(ClientRetryTest, TheDeadlineBoundsTheAttempts) {
  const RefusingPort port;
  client::ClientOptions options;
  options.max_connect_attempts = 100;
  const client::Client client(port.target(), options);
  const Clock::time_point start = Clock::now();
  const client::InferResult result =
      client.Infer(IrisRequest(), std::chrono::milliseconds(700));
  EXPECT_EQ(result.status().error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_THAT(result.status().error_message(),
              HasSubstr("deadline passed before a connection"));
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(5));
  EXPECT_GE(result.connect_attempts(), 1);
}

TEST(ClientRetryTest, AServerThatComesUpIsReachedByALaterAttempt) {
  RefusingPort port;
  const std::string target = port.target();
  // A gRPC server with no service at all comes up on the port half a second
  // after the first attempt was refused; it answers UNIMPLEMENTED, which
  // shows the request was sent to it.
  std::unique_ptr<grpc::Server> server;
  std::thread starter([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    port.Close();
    grpc::ServerBuilder builder;
    builder.AddListeningPort(target, grpc::InsecureServerCredentials());
    server = builder.BuildAndStart();
  });
  client::ClientOptions options;
  options.max_connect_attempts = 5;
  options.initial_backoff = std::chrono::milliseconds(50);
  const client::InferResult result =
      client::Client(target, options)
          .Infer(IrisRequest(), std::chrono::seconds(30));
  starter.join();
  ASSERT_NE(server, nullptr) << "cannot listen on " << target;
  EXPECT_EQ(result.status().error_code(), grpc::StatusCode::UNIMPLEMENTED)
      << result.status().error_message();
  EXPECT_GE(result.connect_attempts(), 2);
  server->Shutdown();
}

}  // namespace
}  // namespace inferd::testing
