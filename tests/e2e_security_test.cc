// TLS, mutual TLS, --grpc-restricted-protocol and the message size limit end
// to end: a real server on a free port, real gRPC clients; the HTTPS
// certificates of the REST API and metrics endpoint reloading, with an
// OpenSSL client. Certificates are
// made at test time with the openssl CLI; without it the TLS cases skip.

#include <gmock/gmock.h>
#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "inferd/client.h"
#include "metrics/exporter.h"
#include "model_store/test_util.h"
#include "proto/health.grpc.pb.h"
#include "service/http_api.h"
#include "service/https_certificates.h"
#include "tests/test_server.h"

namespace inferd::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

// A fresh directory under the test's temp dir, removed at destruction.
class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (fs::path(::testing::TempDir()) / "inferd_security_XXXXXX").string();
    EXPECT_NE(mkdtemp(pattern.data()), nullptr) << pattern;
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

bool HaveOpenssl() {
  return std::system("openssl version >/dev/null 2>&1") == 0;
}

// Writes ca.{crt,key}, server.{crt,key} (SAN 127.0.0.1 and localhost),
// client.{crt,key} signed by the CA, and rogue_client.{crt,key} and
// server_b.{crt,key} (CN inferd-server-b, the same SAN) signed by another
// CA, rogue_ca, into `dir`.
bool MakeCertificates(const fs::path& dir) {
  const std::string script = R"(set -e
key="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
openssl req -x509 $key -days 1 -subj /CN=inferd-test-ca \
  -keyout ca.key -out ca.crt
openssl req -x509 $key -days 1 -subj /CN=inferd-rogue-ca \
  -keyout rogue_ca.key -out rogue_ca.crt
openssl req $key -subj /CN=localhost -keyout server.key -out server.csr
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' \
  > server.ext
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
  -days 1 -extfile server.ext -out server.crt
printf 'extendedKeyUsage=clientAuth\n' > client.ext
for who in client rogue_client; do
  openssl req $key -subj /CN=$who -keyout $who.key -out $who.csr
done
openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
  -days 1 -extfile client.ext -out client.crt
openssl x509 -req -in rogue_client.csr -CA rogue_ca.crt -CAkey rogue_ca.key \
  -CAcreateserial -days 1 -extfile client.ext -out rogue_client.crt
openssl req $key -subj /CN=inferd-server-b -keyout server_b.key \
  -out server_b.csr
openssl x509 -req -in server_b.csr -CA rogue_ca.crt -CAkey rogue_ca.key \
  -CAcreateserial -days 1 -extfile server.ext -out server_b.crt
)";
  std::ofstream(dir / "make_certs.sh") << script;
  const std::string command = absl::StrCat(
      "cd '", dir.string(), "' && sh make_certs.sh >openssl.log 2>&1");
  return std::system(command.c_str()) == 0;
}

// A repository holding only the iris model, which loads fast.
bool MakeIrisRepository(const fs::path& root) {
  if (TestModels("good").empty()) return false;
  std::error_code error;
  fs::create_directories(root, error);
  fs::copy(fs::path(TestModels("good")) / "iris", root / "iris",
           fs::copy_options::recursive, error);
  return !error;
}

inference::ModelInferRequest IrisRequest() {
  inference::ModelInferRequest request;
  request.set_model_name("iris");
  AddRawInput(&request, "features", "FP32", {1, 4},
              RawBytes(std::vector<float>{5.1f, 3.5f, 1.4f, 0.2f}));
  return request;
}

// ServerLive over `channel`, with a deadline so a failed handshake cannot
// hang the test.
grpc::Status Live(const std::shared_ptr<grpc::Channel>& channel) {
  auto stub = inference::GRPCInferenceService::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  inference::ServerLiveResponse response;
  return stub->ServerLive(&context, {}, &response);
}

std::string Target(const TestServer& server) {
  return absl::StrCat("127.0.0.1:", server.port());
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!HaveOpenssl()) GTEST_SKIP() << "openssl CLI not found";
    ASSERT_TRUE(MakeCertificates(dir_.path()))
        << ReadFileOrDie((dir_.path() / "openssl.log").string());
    // No models: TLS is about the transport, and ServerLive needs none.
    fs::create_directories(dir_.path() / "models");
  }

  std::string Path(const std::string& file) const {
    return (dir_.path() / file).string();
  }
  std::string Pem(const std::string& file) const {
    return ReadFileOrDie(Path(file));
  }

  ServerOptions TlsOptions(bool mutual) const {
    ServerOptions options;
    options.use_ssl = true;
    options.use_ssl_mutual = mutual;
    options.server_cert = Path("server.crt");
    options.server_key = Path("server.key");
    if (mutual) options.root_cert = Path("ca.crt");
    return options;
  }

  // A TLS client trusting the test CA, presenting `client` (empty: no
  // certificate), on a new connection.
  std::shared_ptr<grpc::Channel> TlsChannel(const TestServer& server,
                                            const std::string& client) const {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = Pem("ca.crt");
    if (!client.empty()) {
      ssl.pem_cert_chain = Pem(client + ".crt");
      ssl.pem_private_key = Pem(client + ".key");
    }
    // A connection of its own, never one another channel opened.
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    return grpc::CreateCustomChannel(Target(server), grpc::SslCredentials(ssl),
                                     args);
  }

  TempDir dir_;
};

TEST_F(TlsTest, TlsClientIsServedAndPlaintextClientIsNot) {
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = Pem("ca.crt");
  std::unique_ptr<TestServer> server = TestServer::StartWithOptions(
      Path("models"), TlsOptions(/*mutual=*/false), grpc::SslCredentials(ssl));
  ASSERT_NE(server, nullptr);
  grpc::ClientContext context;
  inference::ServerLiveResponse live;
  ASSERT_TRUE(server->stub().ServerLive(&context, {}, &live).ok());
  EXPECT_TRUE(live.live());
  EXPECT_TRUE(Live(TlsChannel(*server, "")).ok());

  grpc::Status plaintext = Live(
      grpc::CreateChannel(Target(*server), grpc::InsecureChannelCredentials()));
  EXPECT_EQ(plaintext.error_code(), grpc::StatusCode::UNAVAILABLE)
      << plaintext.error_message();

  // A client that does not trust the server's CA refuses the server.
  grpc::SslCredentialsOptions other;
  other.pem_root_certs = Pem("rogue_ca.crt");
  grpc::Status untrusted =
      Live(grpc::CreateChannel(Target(*server), grpc::SslCredentials(other)));
  EXPECT_EQ(untrusted.error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(TlsTest, MutualTlsNeedsAClientCertificateSignedByTheRoot) {
  std::unique_ptr<TestServer> server =
      TestServer::StartWithOptions(Path("models"), TlsOptions(/*mutual=*/true),
                                   grpc::InsecureChannelCredentials());
  ASSERT_NE(server, nullptr);
  EXPECT_TRUE(Live(TlsChannel(*server, "client")).ok());

  grpc::Status no_certificate = Live(TlsChannel(*server, ""));
  EXPECT_EQ(no_certificate.error_code(), grpc::StatusCode::UNAVAILABLE)
      << no_certificate.error_message();
  grpc::Status rogue = Live(TlsChannel(*server, "rogue_client"));
  EXPECT_EQ(rogue.error_code(), grpc::StatusCode::UNAVAILABLE)
      << rogue.error_message();
  grpc::Status plaintext = Live(
      grpc::CreateChannel(Target(*server), grpc::InsecureChannelCredentials()));
  EXPECT_EQ(plaintext.error_code(), grpc::StatusCode::UNAVAILABLE);
}

// The client library (client/include/inferd/client.h) with its TLS
// options: served over mutual TLS with the client's certificate, refused
// without it (the handshake fails: UNAVAILABLE, nothing sent).
TEST_F(TlsTest, ClientLibraryInfersOverMutualTls) {
  ASSERT_TRUE(MakeIrisRepository(dir_.path() / "iris_models"));
  std::unique_ptr<TestServer> server = TestServer::StartWithOptions(
      Path("iris_models"), TlsOptions(/*mutual=*/true),
      grpc::InsecureChannelCredentials());
  ASSERT_NE(server, nullptr);
  client::InferRequest request("iris");
  request.AddInput("features", {1, 4},
                   std::vector<float>{5.1f, 3.5f, 1.4f, 0.2f});

  client::ClientOptions options;
  options.tls =
      client::TlsOptions{Pem("ca.crt"), Pem("client.crt"), Pem("client.key")};
  const client::InferResult served =
      client::Client(Target(*server), options)
          .Infer(request, std::chrono::seconds(30));
  ASSERT_TRUE(served.ok()) << served.status().error_message();
  ASSERT_NE(served.output("probabilities"), nullptr);
  EXPECT_EQ(served.output("probabilities")->As<float>()->size(), 3u);

  options.tls = client::TlsOptions{Pem("ca.crt"), "", ""};
  options.max_connect_attempts = 1;
  const client::InferResult refused =
      client::Client(Target(*server), options)
          .Infer(request, std::chrono::seconds(30));
  EXPECT_EQ(refused.status().error_code(), grpc::StatusCode::UNAVAILABLE)
      << refused.status().error_message();
}

// The start-up errors name the flag and the file.
TEST_F(TlsTest, BadTlsOptionsAreRefusedNamingTheFlag) {
  auto refused = [](const ServerOptions& options) {
    absl::StatusOr<GrpcCredentials> credentials =
        MakeServerCredentials(options);
    EXPECT_FALSE(credentials.ok());
    EXPECT_EQ(credentials.status().code(), absl::StatusCode::kInvalidArgument);
    return std::string(credentials.status().message());
  };
  EXPECT_TRUE(MakeServerCredentials(TlsOptions(false)).ok());
  EXPECT_TRUE(MakeServerCredentials(TlsOptions(true)).ok());
  EXPECT_TRUE(MakeServerCredentials(ServerOptions()).ok());

  ServerOptions options = TlsOptions(false);
  options.server_key.clear();
  EXPECT_THAT(refused(options), HasSubstr("--grpc-server-key"));

  options = TlsOptions(false);
  options.server_cert = Path("missing.crt");
  EXPECT_THAT(
      refused(options),
      HasSubstr("--grpc-server-cert=" + Path("missing.crt") + ": cannot read"));

  options = TlsOptions(false);
  options.server_key = Path("openssl.log");  // not PEM
  EXPECT_THAT(
      refused(options),
      HasSubstr("--grpc-server-key=" + Path("openssl.log") + ": not a PEM"));

  options = TlsOptions(true);
  options.root_cert.clear();
  EXPECT_THAT(refused(options),
              HasSubstr("--grpc-use-ssl-mutual needs --grpc-root-cert"));

  options = TlsOptions(true);
  options.root_cert = Path("nowhere/ca.crt");
  EXPECT_THAT(refused(options), HasSubstr("--grpc-root-cert="));

  options = ServerOptions();
  options.server_cert = Path("server.crt");
  EXPECT_THAT(refused(options),
              HasSubstr("--grpc-server-cert is set but --grpc-use-ssl is "
                        "false"));

  // Files that gRPC would take, and then fail every handshake with.
  options = TlsOptions(false);
  options.server_key = Path("server_b.key");
  EXPECT_THAT(refused(options),
              HasSubstr("--grpc-server-key=" + Path("server_b.key") +
                        ": the private key is not the key of the chain's "
                        "first certificate (--grpc-server-cert=" +
                        Path("server.crt") + ")"));
  options = TlsOptions(false);
  options.server_cert = Path("server.csr");  // PEM, but no certificate
  EXPECT_THAT(refused(options),
              HasSubstr("--grpc-server-cert=" + Path("server.csr") +
                        ": no certificate"));
  options = TlsOptions(false);
  options.cert_refresh_secs = -1;
  EXPECT_THAT(refused(options),
              HasSubstr("--grpc-cert-refresh-secs must be 0"));
  // Read once: no reloader, and the same checks.
  options = TlsOptions(true);
  options.cert_refresh_secs = 0;
  absl::StatusOr<GrpcCredentials> once = MakeServerCredentials(options);
  ASSERT_TRUE(once.ok()) << once.status();
  EXPECT_EQ(once->reloader, nullptr);
  options.server_key = Path("client.key");
  EXPECT_THAT(refused(options), HasSubstr("is not the key of the chain's"));
}

// Replaces `path` the way an operator should: write beside it, rename over
// it.
void Replace(const fs::path& path, const std::string& contents) {
  const fs::path temp = path.string() + ".new";
  std::ofstream(temp, std::ios::binary) << contents;
  fs::rename(temp, path);
}

// A channel of its own (no subchannel shared with other channels: each
// one makes a new connection and handshake) trusting the CAs of
// `roots_pem`.
std::shared_ptr<grpc::Channel> NewTlsChannel(const TestServer& server,
                                             const std::string& roots_pem) {
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = roots_pem;
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(Target(server), grpc::SslCredentials(ssl),
                                   args);
}

// The common name of the certificate the server presents on `channel`;
// empty when the call fails.
std::string PeerCommonName(const std::shared_ptr<grpc::Channel>& channel) {
  auto stub = inference::GRPCInferenceService::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  inference::ServerLiveResponse response;
  if (!stub->ServerLive(&context, {}, &response).ok()) return "";
  std::vector<grpc::string_ref> names =
      context.auth_context()->FindPropertyValues("x509_common_name");
  return names.empty() ? "" : std::string(names[0].data(), names[0].size());
}

class TlsReloadTest : public TlsTest {
 protected:
  // A server on copies of server.{crt,key} (served.{crt,key}) that it
  // re-reads every second.
  std::unique_ptr<TestServer> StartReloading() {
    fs::copy_file(Path("server.crt"), Path("served.crt"));
    fs::copy_file(Path("server.key"), Path("served.key"));
    ServerOptions options = TlsOptions(/*mutual=*/false);
    options.server_cert = Path("served.crt");
    options.server_key = Path("served.key");
    options.cert_refresh_secs = 1;
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = Pem("ca.crt");
    return TestServer::StartWithOptions(Path("models"), options,
                                        grpc::SslCredentials(ssl));
  }

  // Polls (a new connection each time) until the server presents
  // `common_name` to a client trusting both CAs; false after a minute.
  bool AwaitPresented(const TestServer& server,
                      const std::string& common_name) {
    const std::string both = Pem("ca.crt") + Pem("rogue_ca.crt");
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      if (PeerCommonName(NewTlsChannel(server, both)) == common_name) {
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  // Waits until the server's reloader has begun and finished a look at the
  // files after this call (two more refreshes); false after a minute.
  static bool AwaitFullRefresh(TestServer& server) {
    const CertificateReloader* reloader = server.server().certificates();
    if (reloader == nullptr) return false;
    const int64_t target = reloader->refreshes() + 2;
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (reloader->refreshes() < target &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return reloader->refreshes() >= target;
  }
};

// A certificate renamed over the served one is presented to new
// connections without a restart; a connection opened before goes on.
TEST_F(TlsReloadTest, NewConnectionsGetTheReplacedCertificate) {
  std::unique_ptr<TestServer> server = StartReloading();
  ASSERT_NE(server, nullptr);
  std::shared_ptr<grpc::Channel> before = NewTlsChannel(*server, Pem("ca.crt"));
  EXPECT_EQ(PeerCommonName(before), "localhost");
  EXPECT_EQ(Live(NewTlsChannel(*server, Pem("rogue_ca.crt"))).error_code(),
            grpc::StatusCode::UNAVAILABLE);

  Replace(Path("served.key"), Pem("server_b.key"));
  Replace(Path("served.crt"), Pem("server_b.crt"));
  ASSERT_TRUE(AwaitPresented(*server, "inferd-server-b"));
  EXPECT_TRUE(Live(NewTlsChannel(*server, Pem("rogue_ca.crt"))).ok());
  grpc::Status old_ca = Live(NewTlsChannel(*server, Pem("ca.crt")));
  EXPECT_EQ(old_ca.error_code(), grpc::StatusCode::UNAVAILABLE)
      << old_ca.error_message();
  // Still on its first connection: a new one would fail, as just seen.
  EXPECT_EQ(PeerCommonName(before), "localhost");
  EXPECT_EQ(before->GetState(false), GRPC_CHANNEL_READY);
}

// A garbled certificate, or one whose key is not yet in place, is not
// served: the last good pair stays, for old and new connections.
TEST_F(TlsReloadTest, BadOrHalfReplacedFilesKeepTheServedCertificate) {
  std::unique_ptr<TestServer> server = StartReloading();
  ASSERT_NE(server, nullptr);
  std::shared_ptr<grpc::Channel> before = NewTlsChannel(*server, Pem("ca.crt"));
  EXPECT_EQ(PeerCommonName(before), "localhost");

  Replace(Path("served.crt"),
          "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n"
          "-----END CERTIFICATE-----\n");
  ASSERT_TRUE(AwaitFullRefresh(*server));
  EXPECT_EQ(PeerCommonName(NewTlsChannel(*server, Pem("ca.crt"))), "localhost");

  // B's certificate beside A's key.
  Replace(Path("served.crt"), Pem("server_b.crt"));
  ASSERT_TRUE(AwaitFullRefresh(*server));
  EXPECT_EQ(PeerCommonName(NewTlsChannel(*server, Pem("ca.crt"))), "localhost");
  EXPECT_EQ(PeerCommonName(before), "localhost");

  // Its key arrives: B from then on.
  Replace(Path("served.key"), Pem("server_b.key"));
  EXPECT_TRUE(AwaitPresented(*server, "inferd-server-b"));
}

// Mutual TLS on reloading credentials: the client's certificate is still
// required and checked against the root bundle, which reloads too.
TEST_F(TlsReloadTest, MutualTlsRootBundleReloads) {
  fs::copy_file(Path("ca.crt"), Path("served_roots.crt"));
  ServerOptions options = TlsOptions(/*mutual=*/true);
  options.root_cert = Path("served_roots.crt");
  options.cert_refresh_secs = 1;
  std::unique_ptr<TestServer> server = TestServer::StartWithOptions(
      Path("models"), options, grpc::InsecureChannelCredentials());
  ASSERT_NE(server, nullptr);
  ASSERT_NE(server->server().certificates(), nullptr);
  EXPECT_TRUE(Live(TlsChannel(*server, "client")).ok());
  EXPECT_EQ(Live(TlsChannel(*server, "")).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(Live(TlsChannel(*server, "rogue_client")).error_code(),
            grpc::StatusCode::UNAVAILABLE);

  // Now clients of the other CA are the trusted ones.
  Replace(Path("served_roots.crt"), Pem("rogue_ca.crt"));
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!Live(TlsChannel(*server, "rogue_client")).ok() &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(Live(TlsChannel(*server, "rogue_client")).ok());
  EXPECT_EQ(Live(TlsChannel(*server, "client")).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(Live(TlsChannel(*server, "")).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

// An HTTPS connection made with OpenSSL that verifies nothing: the tests
// read the certificate the server presents instead.
class HttpsConnection {
 public:
  // A TLS connection to 127.0.0.1:`port`; null when the connection or the
  // handshake fails.
  static std::unique_ptr<HttpsConnection> Open(int port) {
    std::unique_ptr<HttpsConnection> connection(new HttpsConnection());
    connection->fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (connection->fd_ < 0) return nullptr;
    // A server that stops answering fails the test instead of hanging it.
    const timeval timeout{10, 0};
    setsockopt(connection->fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout,
               sizeof(timeout));
    setsockopt(connection->fd_, SOL_SOCKET, SO_SNDTIMEO, &timeout,
               sizeof(timeout));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(connection->fd_, reinterpret_cast<sockaddr*>(&address),
                sizeof(address)) != 0) {
      return nullptr;
    }
    connection->context_ = SSL_CTX_new(TLS_client_method());
    if (connection->context_ == nullptr) return nullptr;
    connection->ssl_ = SSL_new(connection->context_);
    if (connection->ssl_ == nullptr) return nullptr;
    SSL_set_fd(connection->ssl_, connection->fd_);
    SSL_set_tlsext_host_name(connection->ssl_, "localhost");
    if (SSL_connect(connection->ssl_) != 1) return nullptr;
    return connection;
  }

  ~HttpsConnection() {
    if (ssl_ != nullptr) SSL_free(ssl_);
    if (context_ != nullptr) SSL_CTX_free(context_);
    if (fd_ >= 0) close(fd_);
  }

  // The subject's common name of the certificate the server presented.
  std::string PeerCommonName() const {
    X509* cert = SSL_get1_peer_certificate(ssl_);
    if (cert == nullptr) return "";
    char name[256] = {};
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, name,
                              sizeof(name));
    X509_free(cert);
    return name;
  }

  // GET `path` on this connection, kept open after it: the answer's status
  // code, or 0 when the request fails.
  int Get(const std::string& path) {
    const std::string request =
        absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: localhost\r\n\r\n");
    if (SSL_write(ssl_, request.data(), static_cast<int>(request.size())) !=
        static_cast<int>(request.size())) {
      return 0;
    }
    std::string answer;
    size_t header_end = std::string::npos;
    size_t length = 0;
    char buffer[4096];
    while (header_end == std::string::npos ||
           answer.size() < header_end + 4 + length) {
      const int n = SSL_read(ssl_, buffer, sizeof(buffer));
      if (n <= 0) return 0;
      answer.append(buffer, static_cast<size_t>(n));
      if (header_end == std::string::npos) {
        header_end = answer.find("\r\n\r\n");
        if (header_end == std::string::npos) continue;
        const std::string headers = absl::AsciiStrToLower(
            absl::string_view(answer).substr(0, header_end));
        const size_t field = headers.find("\r\ncontent-length:");
        if (field == std::string::npos) return 0;
        length = std::strtoul(headers.c_str() + field + 17, nullptr, 10);
      }
    }
    // "HTTP/1.1 200 OK"
    return answer.size() > 12 ? std::atoi(answer.c_str() + 9) : 0;
  }

 private:
  HttpsConnection() = default;

  int fd_ = -1;
  SSL_CTX* context_ = nullptr;
  SSL* ssl_ = nullptr;
};

// The REST API (param "http") or the metrics endpoint ("metrics") over
// HTTPS on copies of server.{crt,key} (served.{crt,key}), re-read every
// 50 ms, beside a plaintext gRPC server whose core and metrics they serve.
class HttpsReloadTest : public TlsTest,
                        public ::testing::WithParamInterface<std::string> {
 protected:
  void SetUp() override {
    TlsTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    fs::copy_file(Path("server.crt"), Path("served.crt"));
    fs::copy_file(Path("server.key"), Path("served.key"));
    const std::string flag = "--" + GetParam();
    HttpsCertificates::Options https;
    https.files = {{Path("served.crt"), flag + "-server-cert"},
                   {Path("served.key"), flag + "-server-key"},
                   {}};
    https.refresh_interval = absl::Milliseconds(50);
    absl::StatusOr<std::unique_ptr<HttpsCertificates>> certificates =
        HttpsCertificates::Create(std::move(https));
    ASSERT_TRUE(certificates.ok()) << certificates.status();
    certificates_ = *std::move(certificates);
    grpc_ = TestServer::Start(Path("models"));
    ASSERT_NE(grpc_, nullptr);
    http::ServerOptions options;
    options.tls = certificates_->identity();
    if (GetParam() == "metrics") {
      auto started =
          metrics::MetricsExporter::Start(options, &grpc_->metrics());
      ASSERT_TRUE(started.ok()) << started.status();
      metrics_ = *std::move(started);
      port_ = metrics_->port();
      path_ = "/metrics";
    } else {
      auto started =
          HttpFrontEnd::Start(options, grpc_->server().core(), &access_);
      ASSERT_TRUE(started.ok()) << started.status();
      http_ = *std::move(started);
      port_ = http_->port();
      path_ = "/v2/health/live";
    }
  }

  // The common name a new connection is presented; empty when it fails.
  std::string NewConnectionCommonName() const {
    std::unique_ptr<HttpsConnection> connection = HttpsConnection::Open(port_);
    return connection == nullptr ? "" : connection->PeerCommonName();
  }

  // The status a new connection's GET gets; 0 when it fails.
  int NewConnectionGet() const {
    std::unique_ptr<HttpsConnection> connection = HttpsConnection::Open(port_);
    return connection == nullptr ? 0 : connection->Get(path_);
  }

  // Polls (a new connection each time) until the server presents
  // `common_name`; false after a minute.
  bool AwaitPresented(const std::string& common_name) const {
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      if (NewConnectionCommonName() == common_name) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  // Waits until the watcher has begun and finished a look at the files
  // after this call (two more refreshes); false after a minute.
  bool AwaitFullRefresh() const {
    const TlsFileWatcher* watcher = certificates_->watcher();
    if (watcher == nullptr) return false;
    const int64_t target = watcher->refreshes() + 2;
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (watcher->refreshes() < target &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return watcher->refreshes() >= target;
  }

  std::unique_ptr<HttpsCertificates> certificates_;
  std::unique_ptr<TestServer> grpc_;
  AccessPolicy access_;
  // One of these, after what they serve.
  std::unique_ptr<metrics::MetricsExporter> metrics_;
  std::unique_ptr<HttpFrontEnd> http_;
  int port_ = 0;
  std::string path_;
};

// A certificate renamed over the served one is presented to new
// connections without a restart; a connection opened before goes on with
// the old one.
TEST_P(HttpsReloadTest, NewConnectionsGetTheReplacedCertificate) {
  std::unique_ptr<HttpsConnection> before = HttpsConnection::Open(port_);
  ASSERT_NE(before, nullptr);
  EXPECT_EQ(before->PeerCommonName(), "localhost");
  EXPECT_EQ(before->Get(path_), 200);

  Replace(Path("served.key"), Pem("server_b.key"));
  Replace(Path("served.crt"), Pem("server_b.crt"));
  ASSERT_TRUE(AwaitPresented("inferd-server-b"));
  EXPECT_EQ(NewConnectionGet(), 200);
  EXPECT_EQ(before->Get(path_), 200);
  EXPECT_EQ(before->PeerCommonName(), "localhost");
}

// A garbled certificate, or one whose key is not yet in place, is not
// served: the last good pair stays, for old and new connections.
TEST_P(HttpsReloadTest, BadOrHalfReplacedFilesKeepTheServedCertificate) {
  std::unique_ptr<HttpsConnection> before = HttpsConnection::Open(port_);
  ASSERT_NE(before, nullptr);
  EXPECT_EQ(before->PeerCommonName(), "localhost");

  Replace(Path("served.crt"),
          "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n"
          "-----END CERTIFICATE-----\n");
  ASSERT_TRUE(AwaitFullRefresh());
  EXPECT_EQ(NewConnectionCommonName(), "localhost");
  EXPECT_EQ(NewConnectionGet(), 200);

  // B's certificate beside A's key.
  Replace(Path("served.crt"), Pem("server_b.crt"));
  ASSERT_TRUE(AwaitFullRefresh());
  EXPECT_EQ(NewConnectionCommonName(), "localhost");
  EXPECT_EQ(NewConnectionGet(), 200);
  EXPECT_EQ(before->Get(path_), 200);

  // Its key arrives: B from then on.
  Replace(Path("served.key"), Pem("server_b.key"));
  EXPECT_TRUE(AwaitPresented("inferd-server-b"));
  EXPECT_EQ(NewConnectionGet(), 200);
  EXPECT_EQ(before->PeerCommonName(), "localhost");
  EXPECT_EQ(before->Get(path_), 200);
}

INSTANTIATE_TEST_SUITE_P(RestAndMetrics, HttpsReloadTest,
                         ::testing::Values("http", "metrics"));

class AccessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (TestModels("good").empty()) {
      GTEST_FAIL() << "INFERD_TEST_MODELS is not set; run through ctest";
    }
    ASSERT_TRUE(MakeIrisRepository(dir_.path() / "models"));
  }

  std::unique_ptr<TestServer> StartRestricted(
      const std::vector<std::string>& specs) {
    absl::StatusOr<AccessPolicy> access = AccessPolicy::Parse(specs);
    EXPECT_TRUE(access.ok()) << access.status();
    ServerOptions options;
    options.access = *access;
    return TestServer::StartWithOptions((dir_.path() / "models").string(),
                                        options);
  }

  TempDir dir_;
};

grpc::Status Infer(TestServer& server, const std::string& key,
                   const std::string& value) {
  grpc::ClientContext context;
  if (!key.empty()) context.AddMetadata(key, value);
  inference::ModelInferResponse response;
  return server.stub().ModelInfer(&context, IrisRequest(), &response);
}

TEST_F(AccessTest, RestrictedInferenceNeedsTheHeader) {
  std::unique_ptr<TestServer> server =
      StartRestricted({"inference,model-config:infer-key=S3CRET"});
  ASSERT_NE(server, nullptr);

  grpc::Status missing = Infer(*server, "", "");
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(missing.error_message(),
            "This protocol is restricted, expecting header 'infer-key'");
  grpc::Status wrong = Infer(*server, "infer-key", "S3CRE");
  EXPECT_EQ(wrong.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(wrong.error_message(), Not(HasSubstr("S3CRE")));
  EXPECT_EQ(Infer(*server, "other-key", "S3CRET").error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  grpc::Status right = Infer(*server, "infer-key", "S3CRET");
  EXPECT_TRUE(right.ok()) << right.error_message();

  // The other restricted group, and the stream of the inference group.
  {
    grpc::ClientContext context;
    inference::ModelConfigRequest request;
    request.set_name("iris");
    inference::ModelConfigResponse response;
    EXPECT_EQ(
        server->stub().ModelConfig(&context, request, &response).error_code(),
        grpc::StatusCode::PERMISSION_DENIED);
  }
  {
    grpc::ClientContext context;
    auto stream = server->stub().ModelStreamInfer(&context);
    stream->WritesDone();
    EXPECT_EQ(stream->Finish().error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }

  // Every refusal is counted by protocol and group.
  const std::string text = metrics::Exposition(server->metrics());
  EXPECT_THAT(text, HasSubstr("inferd_access_refusals_total{group="
                              "\"inference\",protocol=\"grpc\"} 4"));
  EXPECT_THAT(text, HasSubstr("inferd_access_refusals_total{group="
                              "\"model-config\",protocol=\"grpc\"} 1"));

  // Unrestricted groups need nothing.
  grpc::ClientContext live_context;
  inference::ServerLiveResponse live;
  EXPECT_TRUE(server->stub().ServerLive(&live_context, {}, &live).ok());
  grpc::ClientContext metadata_context;
  inference::ServerMetadataResponse metadata;
  EXPECT_TRUE(
      server->stub().ServerMetadata(&metadata_context, {}, &metadata).ok());
  auto health = grpc::health::v1::Health::NewStub(server->channel());
  grpc::ClientContext health_context;
  grpc::health::v1::HealthCheckResponse health_response;
  EXPECT_TRUE(health->Check(&health_context, {}, &health_response).ok());
  EXPECT_EQ(health_response.status(),
            grpc::health::v1::HealthCheckResponse::SERVING);
}

TEST_F(AccessTest, RestrictedHealthCoversTheStandardHealthService) {
  std::unique_ptr<TestServer> server = StartRestricted({"health:probe=ok"});
  ASSERT_NE(server, nullptr);
  auto health = grpc::health::v1::Health::NewStub(server->channel());
  auto check = [&](const std::string& value, const std::string& service,
                   grpc::health::v1::HealthCheckResponse* response) {
    grpc::ClientContext context;
    if (!value.empty()) context.AddMetadata("probe", value);
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(service);
    return health->Check(&context, request, response);
  };
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status refused = check("", "", &response);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(refused.error_message(),
            "This protocol is restricted, expecting header 'probe'");
  EXPECT_EQ(check("no", "", &response).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  for (const std::string service : {"", "inference.GRPCInferenceService"}) {
    grpc::Status allowed = check("ok", service, &response);
    ASSERT_TRUE(allowed.ok()) << service << ": " << allowed.error_message();
    EXPECT_EQ(response.status(),
              grpc::health::v1::HealthCheckResponse::SERVING);
  }
  EXPECT_EQ(check("ok", "no.such.Service", &response).error_code(),
            grpc::StatusCode::NOT_FOUND);
  // proto/health.proto has no Watch: called as a generic unary call,
  // which the server sees as a Watch with one request.
  for (const std::string value : {"", "ok"}) {
    grpc::GenericStub generic(server->channel());
    grpc::ClientContext context;
    if (!value.empty()) context.AddMetadata("probe", value);
    grpc::Slice empty_request("");  // a HealthCheckRequest for ""
    grpc::ByteBuffer request(&empty_request, 1), reply;
    std::promise<grpc::Status> done;
    generic.UnaryCall(&context, "/grpc.health.v1.Health/Watch",
                      grpc::StubOptions(), &request, &reply,
                      [&done](grpc::Status status) { done.set_value(status); });
    EXPECT_EQ(done.get_future().get().error_code(),
              value.empty() ? grpc::StatusCode::PERMISSION_DENIED
                            : grpc::StatusCode::UNIMPLEMENTED);
  }

  // ServerLive is in the health group too; inference is open.
  grpc::ClientContext live_context;
  inference::ServerLiveResponse live;
  EXPECT_EQ(server->stub().ServerLive(&live_context, {}, &live).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  grpc::Status infer = Infer(*server, "", "");
  EXPECT_TRUE(infer.ok()) << infer.error_message();
}

TEST(MessageLimitTest, MessageOverTheLimitIsResourceExhausted) {
  if (TestModels("good").empty()) {
    GTEST_FAIL() << "INFERD_TEST_MODELS is not set; run through ctest";
  }
  TempDir dir;
  ASSERT_TRUE(MakeIrisRepository(dir.path() / "models"));
  ServerOptions options;
  options.max_message_bytes = 4096;
  std::unique_ptr<TestServer> server =
      TestServer::StartWithOptions((dir.path() / "models").string(), options);
  ASSERT_NE(server, nullptr);
  EXPECT_TRUE(Infer(*server, "", "").ok());  // a small request passes

  inference::ModelInferRequest big;
  big.set_model_name("iris");
  AddRawInput(&big, "features", "FP32", {512, 4},
              RawBytes(std::vector<float>(512 * 4, 1.0f)));  // 8 KiB
  grpc::ClientContext context;
  inference::ModelInferResponse response;
  grpc::Status status = server->stub().ModelInfer(&context, big, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << status.error_message();
}

// main()'s flag handling: the inferd binary beside this test refuses bad
// security flags before loading anything.
class FlagsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    inferd_ = fs::read_symlink("/proc/self/exe").parent_path() / "inferd";
    if (!fs::exists(inferd_)) GTEST_SKIP() << inferd_ << " is not built";
    fs::create_directories(dir_.path() / "models");
  }

  // Runs inferd with `flags`; returns its exit code and stderr. A server
  // that accepted the flags would serve forever: timeout stops it (124).
  std::pair<int, std::string> Run(const std::string& flags) {
    const fs::path err = dir_.path() / "stderr.txt";
    const std::string command = absl::StrCat(
        "timeout -k 5 30 '", inferd_.string(), "' --model-repository='",
        (dir_.path() / "models").string(),
        "' --grpc-port=0 --http-port=0 --metrics-port=0 ", flags,
        " >/dev/null 2>'", err.string(), "'");
    const int status = std::system(command.c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1,
            ReadFileOrDie(err.string())};
  }

  fs::path inferd_;
  TempDir dir_;
};

TEST_F(FlagsTest, RestrictedProtocolIsRepeatable) {
  // Both occurrences are read: the second restricts inference again.
  auto [code, err] =
      Run("--grpc-restricted-protocol=inference:k=SECRET1 "
          "--grpc_restricted_protocol health,inference:j=SECRET2");
  EXPECT_EQ(code, 2);
  EXPECT_THAT(err, HasSubstr("protocol \"inference\" is restricted more "
                             "than once"));
  EXPECT_THAT(err, Not(HasSubstr("SECRET")));
  std::tie(code, err) = Run("--grpc-restricted-protocol=inferenc:k=v");
  EXPECT_EQ(code, 2);
  EXPECT_THAT(err, HasSubstr("unknown protocol \"inferenc\""));
}

TEST_F(FlagsTest, InconsistentTlsFlagsStopStartUp) {
  auto [code, err] = Run("--grpc-use-ssl=true");
  EXPECT_EQ(code, 2);
  EXPECT_THAT(err, HasSubstr("--grpc-use-ssl needs --grpc-server-cert"));
  std::tie(code, err) =
      Run("--grpc-use-ssl-mutual=true --grpc-server-cert=/no/such.crt "
          "--grpc-server-key=/no/such.key --grpc-root-cert=/no/ca.crt");
  EXPECT_EQ(code, 2);
  EXPECT_THAT(err, HasSubstr("--grpc-server-cert=/no/such.crt: cannot read"));
  std::tie(code, err) = Run("--grpc-max-message-bytes=0");
  EXPECT_EQ(code, 2);
  EXPECT_THAT(err, HasSubstr("--grpc-max-message-bytes=0"));
  std::tie(code, err) =
      Run("--grpc-use-ssl=true --grpc-server-cert=/no/such.crt "
          "--grpc-server-key=/no/such.key --grpc-cert-refresh-secs=-1");
  EXPECT_EQ(code, 2);
  EXPECT_THAT(err, HasSubstr("--grpc-cert-refresh-secs must be 0"));
}

// The HTTPS files pass the same checks as gRPC's before anything loads.
TEST_F(FlagsTest, HttpsKeyOfAnotherCertificateStopsStartUp) {
  if (!HaveOpenssl()) GTEST_SKIP() << "openssl CLI not found";
  ASSERT_TRUE(MakeCertificates(dir_.path()))
      << ReadFileOrDie((dir_.path() / "openssl.log").string());
  const std::string cert = (dir_.path() / "server.crt").string();
  const std::string key = (dir_.path() / "client.key").string();
  for (const std::string prefix : {"http", "metrics"}) {
    auto [code, err] = Run(absl::StrCat("--", prefix, "-server-cert=", cert,
                                        " --", prefix, "-server-key=", key));
    EXPECT_EQ(code, 2) << prefix;
    EXPECT_THAT(err, HasSubstr(absl::StrCat(
                         "--", prefix, "-server-key=", key,
                         ": the private key is not the key of the chain's "
                         "first certificate")));
  }
}

TEST_F(FlagsTest, BadHttpAndMetricsFlagsStopStartUp) {
  auto [code, err] = Run("--http-server-cert=/no/such.crt");
  EXPECT_EQ(code, 2);
  EXPECT_THAT(err, HasSubstr("--http-server-cert and --http-server-key go "
                             "together"));
  std::tie(code, err) = Run(
      "--metrics-server-cert=/no/such.crt --metrics-server-key=/no/such.key");
  EXPECT_EQ(code, 2);
  EXPECT_THAT(err, HasSubstr("--metrics-server-cert=/no/such.crt: cannot "
                             "read"));
  std::tie(code, err) = Run("--http-restricted-api=inferenc:k=SECRET");
  EXPECT_EQ(code, 2);
  EXPECT_THAT(err, HasSubstr("--http-restricted-api: "));
  EXPECT_THAT(err, HasSubstr("unknown protocol \"inferenc\""));
  EXPECT_THAT(err, Not(HasSubstr("SECRET")));
}

}  // namespace
}  // namespace inferd::testing
