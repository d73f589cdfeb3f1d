#include "service/server.h"

#include <grpcpp/ext/health_check_service_server_builder_option.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/resource_quota.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>

#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"
#include "service/status_util.h"

namespace inferd {
namespace {

// grpc.health.v1.Health's messages, encoded by hand: the service needs two
// fields, and generating health.proto into the server for them would clash
// with the tests' generated copy.
constexpr int kServing = 1;
constexpr int kNotServing = 2;

// HealthCheckRequest.service (field 1); nullopt when `bytes` is not one.
std::optional<std::string> ParseHealthRequest(const grpc::ByteBuffer& bytes) {
  std::vector<grpc::Slice> slices;
  if (!bytes.Dump(&slices).ok()) return std::nullopt;
  std::string data;
  for (const grpc::Slice& slice : slices) {
    data.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  google::protobuf::io::CodedInputStream in(
      reinterpret_cast<const uint8_t*>(data.data()),
      static_cast<int>(data.size()));
  std::string service;
  while (uint32_t tag = in.ReadTag()) {
    if (tag == 10) {  // field 1, length-delimited
      uint32_t length = 0;
      if (!in.ReadVarint32(&length) || length > (1u << 16) ||
          !in.ReadString(&service, static_cast<int>(length))) {
        return std::nullopt;
      }
    } else if (!google::protobuf::internal::WireFormatLite::SkipField(&in,
                                                                      tag)) {
      return std::nullopt;
    }
  }
  if (!in.ConsumedEntireMessage()) return std::nullopt;
  return service;
}

// grpc.health.v1.Health with the health protocol's access check. gRPC's
// default health service cannot refuse a call, so when health is restricted
// it is replaced by this generic service (which also receives calls to
// unknown methods and answers them UNIMPLEMENTED, as gRPC does). Check
// answers as the default service would; Watch, which would need a stream
// per client kept up to date, answers UNIMPLEMENTED (docs/security.md).
class RestrictedHealthService final : public grpc::CallbackGenericService {
 public:
  RestrictedHealthService(const AccessPolicy* access,
                          const InferenceServer* server)
      : access_(access), server_(server) {}

  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext* context) override {
    const std::string& method = context->method();
    if (method != "/grpc.health.v1.Health/Check" &&
        method != "/grpc.health.v1.Health/Watch") {
      return new Finished(grpc::Status(grpc::StatusCode::UNIMPLEMENTED, ""));
    }
    absl::Status allowed = CheckCallAccess(access_, *context, method);
    if (!allowed.ok()) return new Finished(ToGrpcStatus(allowed));
    if (method == "/grpc.health.v1.Health/Watch") {
      return new Finished(grpc::Status(
          grpc::StatusCode::UNIMPLEMENTED,
          "grpc.health.v1.Health/Watch is not served while the health "
          "protocol is restricted; use Check"));
    }
    return new CheckReactor(server_);
  }

 private:
  class Finished final : public grpc::ServerGenericBidiReactor {
   public:
    explicit Finished(const grpc::Status& status) { Finish(status); }
    void OnDone() override { delete this; }
  };

  class CheckReactor final : public grpc::ServerGenericBidiReactor {
   public:
    explicit CheckReactor(const InferenceServer* server) : server_(server) {
      StartRead(&request_);
    }
    void OnReadDone(bool ok) override {
      if (!ok) {
        Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                            "no HealthCheckRequest"));
        return;
      }
      std::optional<std::string> service = ParseHealthRequest(request_);
      if (!service.has_value()) {
        Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                            "malformed HealthCheckRequest"));
        return;
      }
      // The services the default health service knows (UpdateHealth()).
      if (!service->empty() && *service != "inference.GRPCInferenceService") {
        Finish(grpc::Status(grpc::StatusCode::NOT_FOUND, "service unknown"));
        return;
      }
      // HealthCheckResponse { status = 1 (enum, varint) }.
      const char encoded[2] = {
          8, static_cast<char>(server_->Serving() ? kServing : kNotServing)};
      grpc::Slice slice(encoded, sizeof(encoded));
      response_ = grpc::ByteBuffer(&slice, 1);
      StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
    }
    void OnDone() override { delete this; }

   private:
    const InferenceServer* const server_;
    grpc::ByteBuffer request_;
    grpc::ByteBuffer response_;
  };

  const AccessPolicy* const access_;
  const InferenceServer* const server_;
};

}  // namespace

namespace {

// The TLS flags' consistency, before any file is read.
absl::Status CheckTlsFlags(const ServerOptions& options) {
  if (!options.use_ssl && !options.use_ssl_mutual) {
    // A certificate with TLS off is a mistake worth stopping for: the
    // operator believes the port is encrypted.
    for (const auto& [flag, value] :
         {std::pair{"--grpc-server-cert", &options.server_cert},
          std::pair{"--grpc-server-key", &options.server_key},
          std::pair{"--grpc-root-cert", &options.root_cert}}) {
      if (!value->empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat(flag,
                         " is set but --grpc-use-ssl is false; add "
                         "--grpc-use-ssl=true to serve TLS"));
      }
    }
    return absl::OkStatus();
  }
  if (options.server_cert.empty() || options.server_key.empty()) {
    return absl::InvalidArgumentError(
        "--grpc-use-ssl needs --grpc-server-cert and --grpc-server-key");
  }
  if (options.use_ssl_mutual && options.root_cert.empty()) {
    return absl::InvalidArgumentError(
        "--grpc-use-ssl-mutual needs --grpc-root-cert (the CA that signs "
        "client certificates)");
  }
  if (options.cert_refresh_secs < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--grpc-cert-refresh-secs must be 0 (read the files "
                     "once) or a number of seconds, got ",
                     options.cert_refresh_secs));
  }
  return absl::OkStatus();
}

TlsFiles GrpcTlsFiles(const ServerOptions& options) {
  return TlsFiles{{options.server_cert, "--grpc-server-cert"},
                  {options.server_key, "--grpc-server-key"},
                  {options.root_cert, "--grpc-root-cert"}};
}

}  // namespace

absl::Status CheckServerCredentials(const ServerOptions& options) {
  if (absl::Status s = CheckTlsFlags(options); !s.ok()) return s;
  if (!options.use_ssl && !options.use_ssl_mutual) return absl::OkStatus();
  return ReadTlsFiles(GrpcTlsFiles(options)).status();
}

absl::StatusOr<GrpcCredentials> MakeServerCredentials(
    const ServerOptions& options) {
  if (absl::Status s = CheckTlsFlags(options); !s.ok()) return s;
  if (!options.use_ssl && !options.use_ssl_mutual) {
    return GrpcCredentials{nullptr, grpc::InsecureServerCredentials()};
  }
  const grpc_ssl_client_certificate_request_type client_certificate =
      options.use_ssl_mutual
          ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
          : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE;
  const TlsFiles files = GrpcTlsFiles(options);
  if (options.cert_refresh_secs == 0) {
    absl::StatusOr<TlsPem> pem = ReadTlsFiles(files);
    if (!pem.ok()) return pem.status();
    grpc::SslServerCredentialsOptions ssl(client_certificate);
    ssl.pem_key_cert_pairs.push_back({pem->key, pem->cert});
    ssl.pem_root_certs = pem->root;
    return GrpcCredentials{nullptr, grpc::SslServerCredentials(ssl)};
  }
  CertificateReloader::Options reload;
  reload.files = files;
  reload.refresh_interval = absl::Seconds(options.cert_refresh_secs);
  absl::StatusOr<std::unique_ptr<CertificateReloader>> reloader =
      CertificateReloader::Create(std::move(reload));
  if (reloader.status().code() == absl::StatusCode::kInternal) {
    return absl::InternalError(
        absl::StrCat(reloader.status().message(),
                     "; --grpc-cert-refresh-secs=0 serves the files without "
                     "reloading them"));
  }
  if (!reloader.ok()) return reloader.status();
  // gRPC's provider reads only the reloader's checked in-memory copies, so
  // it may look often: the delay a reload adds stays one second.
  auto provider =
      std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
          (*reloader)->identity_path(), (*reloader)->identity_path(),
          (*reloader)->root_path(), /*refresh_interval_sec=*/1);
  grpc::experimental::TlsServerCredentialsOptions tls(provider);
  tls.watch_identity_key_cert_pairs();
  if (!options.root_cert.empty()) tls.watch_root_certs();
  tls.set_cert_request_type(client_certificate);
  return GrpcCredentials{std::move(*reloader),
                         grpc::experimental::TlsServerCredentials(tls)};
}

absl::StatusOr<std::unique_ptr<InferenceServer>> InferenceServer::Start(
    const ServerOptions& options, ModelRepository* repository,
    metrics::ServerMetrics* metrics) {
  absl::StatusOr<GrpcCredentials> credentials = MakeServerCredentials(options);
  if (!credentials.ok()) return credentials.status();
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  std::unique_ptr<InferenceServer> server(
      new InferenceServer(repository, metrics, options.access));
  server->core()->SetStrictReadiness(options.strict_readiness);
  absl::StatusOr<std::unique_ptr<GrpcListener>> listener =
      GrpcListener::Bind(options.host, options.grpc_port);
  if (!listener.ok()) return listener.status();
  server->listener_ = std::move(*listener);
  server->port_ = server->listener_->port();
  grpc::ServerBuilder builder;
  std::unique_ptr<grpc::experimental::ExternalConnectionAcceptor> acceptor =
      builder.experimental().AddExternalConnectionAcceptor(
          grpc::ServerBuilder::experimental_type::ExternalConnectionType::
              FROM_FD,
          credentials->credentials);
  builder.RegisterService(&server->service_);
  if (server->access_.restriction(ProtocolGroup::kHealth) != nullptr) {
    // A null health service turns gRPC's default one off for this server.
    builder.SetOption(
        std::make_unique<grpc::HealthCheckServiceServerBuilderOption>(nullptr));
    server->restricted_health_ = std::make_unique<RestrictedHealthService>(
        &server->access_, server.get());
    builder.RegisterCallbackGenericService(server->restricted_health_.get());
  }
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  builder.SetMaxSendMessageSize(options.max_message_bytes);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS,
                             options.keepalive_time_ms);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
                             options.keepalive_timeout_ms);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS,
                             options.keepalive_permit_without_calls ? 1 : 0);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA,
                             options.http2_max_pings_without_data);
  builder.AddChannelArgument(
      GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
      options.http2_min_recv_ping_interval_without_data_ms);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES,
                             options.http2_max_ping_strikes);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                             options.max_concurrent_streams);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_BDP_PROBE,
                             options.http2_bdp_probe ? 1 : 0);
  if (!options.http2_bdp_probe) {
    builder.AddChannelArgument(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES,
                               options.http2_stream_window_bytes);
  }
  if (options.max_memory_bytes > 0) {
    grpc::ResourceQuota quota;
    quota.Resize(static_cast<size_t>(options.max_memory_bytes));
    builder.SetResourceQuota(quota);
  }
  if (options.max_connection_idle_ms > 0) {
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS,
                               options.max_connection_idle_ms);
  }
  if (options.max_connection_age_ms > 0) {
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS,
                               options.max_connection_age_ms);
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
                               options.max_connection_age_grace_ms);
  }
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr) {
    return absl::UnavailableError(absl::StrCat(
        "cannot start the gRPC server on port ", server->port_,
        options.use_ssl || options.use_ssl_mutual
            ? " (gRPC refused the TLS certificate or key: see its log above)"
            : " (see gRPC's log above)"));
  }
  server->certificates_ = std::move(credentials->reloader);
  server->listener_->Start(std::move(acceptor));
  // Health follows readiness whenever what serves changes (polls, RPCs).
  InferenceServer* self = server.get();
  repository->SetOnChange([self] { self->UpdateHealth(); });
  server->UpdateHealth();
  return server;
}

InferenceServer::~InferenceServer() { Shutdown(); }

bool InferenceServer::Serving() const {
  return !shut_down_ && service_.core().ServerReady();
}

void InferenceServer::StartDraining() {
  service_.core()->StartDraining();
  UpdateHealth();
}

void InferenceServer::UpdateHealth() {
  if (server_ == nullptr) return;
  const bool ready = Serving();
  // Null when RestrictedHealthService answers, reading Serving() itself.
  grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService();
  if (health == nullptr) return;
  health->SetServingStatus(ready);
  health->SetServingStatus("inference.GRPCInferenceService", ready);
}

void InferenceServer::Shutdown(absl::Duration grace) {
  if (shut_down_ || server_ == nullptr) return;
  shut_down_ = true;
  repository_->SetOnChange(nullptr);
  UpdateHealth();
  listener_->StopAccepting();
  server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
  server_->Wait();
}

}  // namespace inferd
