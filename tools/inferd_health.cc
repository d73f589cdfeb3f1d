// inferd-health: asks a server's gRPC health service (grpc.health.v1) once,
// for the image's HEALTHCHECK and for scripts; exit 0 when it answers
// SERVING, 1 when it answers anything else or cannot be asked, 2 on a usage
// error. Kubernetes probes the same service natively.
//
//   inferd-health [--server=127.0.0.1:8001] [--service=NAME]
//                 [--timeout-ms=2000] [--header=KEY=VALUE]
//                 [--root-cert=PEM [--client-cert=PEM --client-key=PEM]]

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <utility>

#include "absl/flags/flag.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"
#include "proto/health.grpc.pb.h"
#include "tools/bench_flags.h"

ABSL_FLAG(std::string, server, "127.0.0.1:8001", "gRPC address to ask.");
ABSL_FLAG(std::string, service, "",
          "Service whose health to ask; empty: the server as a whole "
          "(inferd: NOT_SERVING until every model is ready, and while it "
          "drains).");
ABSL_FLAG(int, timeout_ms, 2000, "Deadline of the call in milliseconds.");
ABSL_FLAG(std::string, header, "",
          "KEY=VALUE sent with the call, for a server whose health group "
          "needs an access key (--grpc-restricted-protocol=health:...).");
ABSL_FLAG(std::string, root_cert, "",
          "PEM file of the CA that signed the server's certificate: ask "
          "over TLS (a server started with --grpc-use-ssl).");
ABSL_FLAG(std::string, client_cert, "",
          "With --root-cert, PEM certificate to present (mutual TLS).");
ABSL_FLAG(std::string, client_key, "", "Its PEM private key.");

namespace {

using grpc::health::v1::HealthCheckResponse;

absl::StatusOr<std::string> ReadFile(const char* flag,
                                     const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in || text.str().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, "=", path, ": cannot read the file"));
  }
  return text.str();
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> Credentials() {
  const std::string root = absl::GetFlag(FLAGS_root_cert);
  const std::string cert = absl::GetFlag(FLAGS_client_cert);
  const std::string key = absl::GetFlag(FLAGS_client_key);
  if (root.empty()) {
    if (!cert.empty() || !key.empty()) {
      return absl::InvalidArgumentError(
          "--client-cert and --client-key need --root-cert (TLS)");
    }
    return grpc::InsecureChannelCredentials();
  }
  if (cert.empty() != key.empty()) {
    return absl::InvalidArgumentError(
        "--client-cert and --client-key go together");
  }
  grpc::SslCredentialsOptions options;
  absl::StatusOr<std::string> pem = ReadFile("root-cert", root);
  if (!pem.ok()) return pem.status();
  options.pem_root_certs = *std::move(pem);
  if (!cert.empty()) {
    pem = ReadFile("client-cert", cert);
    if (!pem.ok()) return pem.status();
    options.pem_cert_chain = *std::move(pem);
    pem = ReadFile("client-key", key);
    if (!pem.ok()) return pem.status();
    options.pem_private_key = *std::move(pem);
  }
  return grpc::SslCredentials(options);
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "inferd-health [--server=HOST:PORT] [--service=NAME]: exit 0 when the "
      "server's gRPC health service answers SERVING, 1 otherwise");
  inferd::bench::ListHelpFlagsFrom("inferd_health");
  if (absl::Status status = inferd::bench::ParseFlagsOrUsageError(argc, argv);
      !status.ok()) {
    std::fprintf(stderr, "inferd-health: %s\n",
                 std::string(status.message()).c_str());
    return 2;
  }
  std::optional<std::pair<std::string, std::string>> header;
  if (const std::string text = absl::GetFlag(FLAGS_header); !text.empty()) {
    const size_t equals = text.find('=');
    if (equals == 0 || equals == std::string::npos) {
      std::fprintf(stderr, "inferd-health: --header=%s: expected KEY=VALUE\n",
                   text.c_str());
      return 2;
    }
    header.emplace(text.substr(0, equals), text.substr(equals + 1));
  }
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      Credentials();
  if (!credentials.ok()) {
    std::fprintf(stderr, "inferd-health: %s\n",
                 std::string(credentials.status().message()).c_str());
    return 2;
  }
  const std::string server = absl::GetFlag(FLAGS_server);
  const std::string service = absl::GetFlag(FLAGS_service);
  std::unique_ptr<grpc::health::v1::Health::Stub> stub =
      grpc::health::v1::Health::NewStub(
          grpc::CreateChannel(server, *credentials));
  grpc::ClientContext context;
  context.set_deadline(
      std::chrono::system_clock::now() +
      std::chrono::milliseconds(std::max(1, absl::GetFlag(FLAGS_timeout_ms))));
  if (header) context.AddMetadata(header->first, header->second);
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  HealthCheckResponse response;
  const grpc::Status status = stub->Check(&context, request, &response);
  const std::string what =
      service.empty() ? server : absl::StrCat(server, " ", service);
  if (!status.ok()) {
    std::fprintf(stderr, "inferd-health: %s: %s: %s\n", what.c_str(),
                 absl::StatusCodeToString(
                     static_cast<absl::StatusCode>(status.error_code()))
                     .c_str(),
                 status.error_message().c_str());
    return 1;
  }
  std::printf(
      "%s: %s\n", what.c_str(),
      HealthCheckResponse::ServingStatus_Name(response.status()).c_str());
  return response.status() == HealthCheckResponse::SERVING ? 0 : 1;
}
