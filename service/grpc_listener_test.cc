#include "service/grpc_listener.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/full_file_table.h"

namespace inferd {
namespace {

// A gRPC server with only an (empty) generic service, fed by a GrpcListener
// on loopback.
struct Served {
  grpc::CallbackGenericService generic;
  std::unique_ptr<GrpcListener> listener;
  std::unique_ptr<grpc::Server> server;

  static std::unique_ptr<Served> Start() {
    auto s = std::make_unique<Served>();
    auto listener = GrpcListener::Bind("127.0.0.1", 0);
    EXPECT_TRUE(listener.ok()) << listener.status();
    if (!listener.ok()) return s;
    s->listener = std::move(*listener);
    grpc::ServerBuilder builder;
    auto acceptor = builder.experimental().AddExternalConnectionAcceptor(
        grpc::ServerBuilder::experimental_type::ExternalConnectionType::FROM_FD,
        grpc::InsecureServerCredentials());
    builder.RegisterCallbackGenericService(&s->generic);
    s->server = builder.BuildAndStart();
    EXPECT_NE(s->server, nullptr);
    s->listener->Start(std::move(acceptor));
    return s;
  }
  ~Served() {
    if (listener != nullptr) listener->StopAccepting();
    if (server != nullptr) server->Shutdown();
  }

  std::shared_ptr<grpc::Channel> Channel() const {
    grpc::ChannelArguments arguments;
    // A channel of its own, not shared with the test's other channels.
    arguments.SetInt("grpc.channel_id", next_channel_id++);
    return grpc::CreateCustomChannel(
        "127.0.0.1:" + std::to_string(listener->port()),
        grpc::InsecureChannelCredentials(), arguments);
  }
  static inline int next_channel_id = 0;
};

// Connects `client` to the listener's port (the kernel completes the
// handshake into the listen queue) and waits up to 10 s for the listener to
// hold off accepting; `held_off` gets its count. Returns connect()'s result.
int ConnectWhileHeldOff(const Served& served, int client, int64_t* held_off) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(served.listener->port()));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const int connected =
      connect(client, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (served.listener->fd_exhaustions() == 0 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  *held_off = served.listener->fd_exhaustions();
  return connected;
}

bool Connects(grpc::Channel& channel, absl::Duration within) {
  return channel.WaitForConnected(
      std::chrono::system_clock::now() +
      std::chrono::milliseconds(absl::ToInt64Milliseconds(within)));
}

TEST(GrpcListenerTest, HandsConnectionsToTheServer) {
  auto served = Served::Start();
  ASSERT_GT(served->listener->port(), 0);
  auto channel = served->Channel();
  EXPECT_TRUE(Connects(*channel, absl::Seconds(10)));
}

TEST(GrpcListenerTest, BusyPortIsUnavailableNamingTheAddress) {
  auto served = Served::Start();
  auto second = GrpcListener::Bind("127.0.0.1", served->listener->port());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(second.status().message(),
              ::testing::HasSubstr(absl::StrCat("cannot listen on 127.0.0.1:",
                                                served->listener->port())));
  EXPECT_FALSE(GrpcListener::Bind("no.such.host.invalid", 0).ok());
}

// The drain's step: the port refuses new connections while the ones the
// server has stay connected.
TEST(GrpcListenerTest, StopAcceptingRefusesNewConnectionsKeepsOldOnes) {
  auto served = Served::Start();
  auto before = served->Channel();
  ASSERT_TRUE(Connects(*before, absl::Seconds(10)));
  served->listener->StopAccepting();
  served->listener->StopAccepting();  // idempotent
  auto after = served->Channel();
  EXPECT_FALSE(Connects(*after, absl::Milliseconds(500)));
  EXPECT_EQ(before->GetState(false), GRPC_CHANNEL_READY);
}

// gRPC 1.51's own listener stops accepting for good after one EMFILE; this
// one stops short of the limit (here the limit is under the reserve, and the
// table is full besides), waits until descriptors are free and takes the
// waiting connection.
TEST(GrpcListenerTest, FullFileTableIsWaitedOut) {
  auto served = Served::Start();
  // The accepting thread is running before the table fills: UBSan's checks
  // on its start (a virtual call) need a pipe, and report a false "invalid
  // vptr" when no file is left to make one.
  auto first = served->Channel();
  ASSERT_TRUE(Connects(*first, absl::Seconds(10)));
  // The client's socket exists before the table is filled.
  const int client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(client, 0);
  FullFileTable full;
  ASSERT_TRUE(full.filled());
  // accept() then fails with EMFILE.
  int64_t exhaustions = 0;
  const int connected = ConnectWhileHeldOff(*served, client, &exhaustions);
  full.Release();
  ASSERT_EQ(connected, 0) << "connect: " << errno;
  EXPECT_GT(exhaustions, 0);
  // Once descriptors are free the connection is taken: the server speaks
  // first on a new HTTP/2 connection (its SETTINGS frame).
  pollfd readable{client, POLLIN, 0};
  ASSERT_EQ(poll(&readable, 1, 10000), 1);
  char buffer[64];
  EXPECT_GT(read(client, buffer, sizeof(buffer)), 0);
  close(client);
  // And new connections are accepted as before.
  EXPECT_TRUE(Connects(*served->Channel(), absl::Seconds(10)));
}

// A connection the kernel completed but the listener had not accepted yet
// when the port closes is served, not reset (a reset would lose a request
// the client already sent). The listener is held off accepting by an
// open-file limit just under its reserve, which accept() itself still
// allows.
TEST(GrpcListenerTest, StopAcceptingServesTheConnectionsStillQueued) {
  auto served = Served::Start();
  const int client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(client, 0);
  int open_files = 0;
  for (int fd = 0; fd < 65536; ++fd) open_files += fcntl(fd, F_GETFD) != -1;
  rlimit original{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &original), 0);
  rlimit low = original;
  low.rlim_cur = open_files + 64;  // inside GrpcListener's reserve of 256
  ASSERT_LT(low.rlim_cur, original.rlim_cur);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  int64_t exhaustions = 0;
  const int connected = ConnectWhileHeldOff(*served, client, &exhaustions);
  served->listener->StopAccepting();
  setrlimit(RLIMIT_NOFILE, &original);
  ASSERT_EQ(connected, 0) << "connect: " << errno;
  ASSERT_GT(exhaustions, 0) << "the listener never held off";
  // Served: the server speaks first on a new HTTP/2 connection (its
  // SETTINGS frame); a reset connection reads an error instead.
  pollfd readable{client, POLLIN, 0};
  ASSERT_EQ(poll(&readable, 1, 10000), 1);
  char buffer[64];
  EXPECT_GT(read(client, buffer, sizeof(buffer)), 0) << "errno " << errno;
  close(client);
  // The port is closed all the same.
  EXPECT_FALSE(Connects(*served->Channel(), absl::Milliseconds(500)));
}

}  // namespace
}  // namespace inferd
