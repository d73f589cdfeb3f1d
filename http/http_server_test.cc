#include "http/http_server.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace inferd::http {
namespace {

using ::testing::HasSubstr;

// Echoes method, path and body; "x-answer-status" sets the status.
void Echo(const Request& request, Reply reply) {
  Response response;
  response.content_type = "text/plain";
  response.headers.push_back({"X-Path", request.path});
  if (const std::string* status = request.Header("x-answer-status")) {
    response.status = std::stoi(*status);
  }
  response.body = request.method + " " + request.body;
  reply(std::move(response));
}

std::unique_ptr<Server> StartOrDie(ServerOptions options, Handler handler) {
  auto server = Server::Start(options, std::move(handler));
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? std::move(*server) : nullptr;
}

// A TCP connection to the server that sends what the test says.
int Connect(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)),
            0);
  return fd;
}

TEST(HttpServerTest, AnswersWithStatusHeadersAndBody) {
  auto server = StartOrDie({}, &Echo);
  ASSERT_NE(server, nullptr);
  EXPECT_GT(server->port(), 0);
  httplib::Client client("127.0.0.1", server->port());
  auto got = client.Post("/v2/some/path", "payload", "text/plain");
  ASSERT_TRUE(got) << httplib::to_string(got.error());
  EXPECT_EQ(got->status, 200);
  EXPECT_EQ(got->body, "POST payload");
  EXPECT_EQ(got->get_header_value("X-Path"), "/v2/some/path");
  EXPECT_EQ(got->get_header_value("Content-Type"), "text/plain");

  got = client.Get("/x", {{"X-Answer-Status", "404"}});
  ASSERT_TRUE(got);
  EXPECT_EQ(got->status, 404);
  EXPECT_EQ(got->body, "GET ");
}

TEST(HttpServerTest, AnswerMayComeLaterFromAnotherThread) {
  absl::Mutex mu;
  std::vector<std::thread> answerers;
  auto server = StartOrDie({}, [&](const Request& request, Reply reply) {
    absl::MutexLock lock(&mu);
    answerers.emplace_back([&request, reply = std::move(reply)]() mutable {
      absl::SleepFor(absl::Milliseconds(20));
      reply(Response{200, "text/plain", {}, "late " + request.body});
    });
  });
  ASSERT_NE(server, nullptr);
  std::vector<std::thread> clients;
  std::atomic<int> right{0};
  for (int i = 0; i < 8; ++i) {
    clients.emplace_back([&, i] {
      httplib::Client client("127.0.0.1", server->port());
      auto got = client.Post("/", std::to_string(i), "text/plain");
      if (got && got->body == "late " + std::to_string(i)) ++right;
    });
  }
  for (auto& client : clients) client.join();
  EXPECT_EQ(right.load(), 8);
  server->Shutdown();
  for (auto& answerer : answerers) answerer.join();
}

TEST(HttpServerTest, DroppedReplyAnswers500) {
  auto server = StartOrDie({}, [](const Request&, Reply) {});
  ASSERT_NE(server, nullptr);
  httplib::Client client("127.0.0.1", server->port());
  auto got = client.Get("/");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->status, 500);
  EXPECT_THAT(got->body, HasSubstr("without an answer"));
  EXPECT_EQ(server->in_flight(), 0);
}

// Keeps every answer a Reply sends it.
class RecordingSink final : public ReplySink {
 public:
  void Answer(Response response) override {
    answers.push_back(std::move(response));
  }
  std::vector<Response> answers;
};

TEST(ReplyTest, AnswersItsSinkOnceAndLetsItGo) {
  auto sink = std::make_shared<RecordingSink>();
  Reply reply(sink);
  reply(Response{201, "text/plain", {{"X-One", "1"}}, "first"});
  EXPECT_EQ(sink.use_count(), 1);  // the Reply no longer holds it
  reply(Response{202, "text/plain", {}, "second"});
  ASSERT_EQ(sink->answers.size(), 1u);
  EXPECT_EQ(sink->answers[0].status, 201);
  EXPECT_EQ(sink->answers[0].content_type, "text/plain");
  EXPECT_EQ(sink->answers[0].headers.size(), 1u);
  EXPECT_EQ(sink->answers[0].body, "first");
}

TEST(ReplyTest, DroppedReplyAnswersItsSink500) {
  auto sink = std::make_shared<RecordingSink>();
  { Reply reply(sink); }
  ASSERT_EQ(sink->answers.size(), 1u);
  EXPECT_EQ(sink->answers[0].status, 500);
  EXPECT_THAT(sink->answers[0].body, HasSubstr("without an answer"));
}

TEST(ReplyTest, MovedReplyAnswersOnlyFromItsNewOwner) {
  auto sink = std::make_shared<RecordingSink>();
  {
    Reply first(sink);
    Reply second(std::move(first));
    second(Response{204, "text/plain", {}, ""});
  }  // `first`, moved from, answers nothing when dropped
  ASSERT_EQ(sink->answers.size(), 1u);
  EXPECT_EQ(sink->answers[0].status, 204);
}

TEST(HttpServerTest, RefusesBodiesOverTheLimit) {
  ServerOptions options;
  options.max_body_bytes = 1000;
  std::atomic<int> handled{0};
  auto server = StartOrDie(options, [&](const Request& request, Reply reply) {
    ++handled;
    Echo(request, std::move(reply));
  });
  ASSERT_NE(server, nullptr);
  httplib::Client client("127.0.0.1", server->port());
  // Announced by Content-Length: refused before the body is read.
  auto got = client.Post("/", std::string(1001, 'x'), "text/plain");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->status, 413);
  EXPECT_THAT(got->body, HasSubstr("larger than 1000 bytes"));
  // Chunked, with no length announced: refused once it passes the limit.
  got = client.Post(
      "/",
      [](size_t offset, httplib::DataSink& sink) {
        if (offset >= 5000) {
          sink.done();
        } else {
          sink.write(std::string(500, 'y').data(), 500);
        }
        return true;
      },
      "text/plain");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->status, 413);
  EXPECT_EQ(handled.load(), 0);
  // At the limit: served.
  httplib::Client again("127.0.0.1", server->port());
  got = again.Post("/", std::string(1000, 'x'), "text/plain");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->status, 200);
  EXPECT_EQ(handled.load(), 1);
}

TEST(HttpServerTest, SlowClientDoesNotHoldTheOnlyThread) {
  ServerOptions options;
  options.threads = 1;
  auto server = StartOrDie(options, &Echo);
  ASSERT_NE(server, nullptr);
  // Half a request line, then nothing.
  const int slow = Connect(server->port());
  ASSERT_EQ(send(slow, "GET /metr", 9, 0), 9);
  std::vector<int> idle;
  for (int i = 0; i < 20; ++i) idle.push_back(Connect(server->port()));
  httplib::Client client("127.0.0.1", server->port());
  client.set_read_timeout(30, 0);
  auto got = client.Get("/fine");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->status, 200);
  close(slow);
  for (int fd : idle) close(fd);
}

TEST(HttpServerTest, RefusesConnectionsOverTheLimitAndRecovers) {
  ServerOptions options;
  options.connection_limit = 3;
  auto server = StartOrDie(options, &Echo);
  ASSERT_NE(server, nullptr);
  std::vector<int> held;
  for (int i = 0; i < 3; ++i) held.push_back(Connect(server->port()));
  // Each held connection sends a whole request and reads its answer, so the
  // server has surely accepted all three.
  for (int fd : held) {
    const std::string request = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    ASSERT_EQ(send(fd, request.data(), request.size(), 0),
              static_cast<ssize_t>(request.size()));
    char buffer[256];
    ASSERT_GT(recv(fd, buffer, sizeof(buffer), 0), 0);
  }
  httplib::Client refused("127.0.0.1", server->port());
  refused.set_read_timeout(0, 300000);
  auto got = refused.Get("/");
  EXPECT_FALSE(got && got->status == 200);
  for (int fd : held) close(fd);
  // The listener still accepts once connections have closed.
  bool served = false;
  for (int attempt = 0; attempt < 200 && !served; ++attempt) {
    httplib::Client client("127.0.0.1", server->port());
    auto again = client.Get("/");
    served = again && again->status == 200;
    if (!served) absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_TRUE(served);
}

TEST(HttpServerTest, ShutdownWaitsForAnswersThenCancels) {
  absl::Mutex mu;
  std::optional<Reply> held;
  const std::atomic<bool>* cancelled = nullptr;
  absl::Notification dispatched;
  auto server = StartOrDie({}, [&](const Request& request, Reply reply) {
    absl::MutexLock lock(&mu);
    held.emplace(std::move(reply));
    cancelled = request.cancelled;
    dispatched.Notify();
  });
  ASSERT_NE(server, nullptr);
  std::thread client_thread([&] {
    httplib::Client client("127.0.0.1", server->port());
    auto got = client.Get("/");
    ASSERT_TRUE(got);
    EXPECT_EQ(got->status, 503);
  });
  dispatched.WaitForNotification();
  EXPECT_EQ(server->in_flight(), 1);
  // Answers once the server has cancelled the request.
  std::thread holder([&] {
    while (true) {
      {
        absl::MutexLock lock(&mu);
        if (cancelled->load()) {
          (*held)(Response{503, "text/plain", {}, "cancelled"});
          return;
        }
      }
      absl::SleepFor(absl::Milliseconds(1));
    }
  });
  server->Shutdown(absl::Milliseconds(50));
  EXPECT_EQ(server->in_flight(), 0);
  holder.join();
  client_thread.join();
}

TEST(HttpServerTest, RefusesBadOptionsAndBusyPorts) {
  ServerOptions options;
  options.host = "localhost";
  EXPECT_EQ(Server::Start(options, &Echo).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto first = StartOrDie({}, &Echo);
  ASSERT_NE(first, nullptr);
  options.host = "127.0.0.1";
  options.port = first->port();
  auto second = Server::Start(options, &Echo);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace inferd::http
