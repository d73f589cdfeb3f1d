#ifndef INFERD_SERVICE_SERVER_H_
#define INFERD_SERVICE_SERVER_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "model_store/model_repository.h"
#include "service/access_control.h"
#include "service/certificate_reloader.h"
#include "service/grpc_listener.h"
#include "service/inference_service.h"
#include "service/tls_pem.h"

namespace inferd {

struct ServerOptions {
  // Address to bind, e.g. "127.0.0.1" or "0.0.0.0". Default loopback only.
  std::string host = "127.0.0.1";
  // gRPC port; 0 picks a free port (see InferenceServer::port()).
  int grpc_port = 8001;
  // Largest request or response message in bytes. Default 64 MiB.
  int max_message_bytes = 64 << 20;

  // TLS, as Triton's --grpc-use-ssl, --grpc-use-ssl-mutual,
  // --grpc-server-cert, --grpc-server-key and --grpc-root-cert. The paths
  // name PEM files. use_ssl_mutual implies use_ssl, as in Triton, and makes
  // clients present a certificate signed by root_cert.
  bool use_ssl = false;
  bool use_ssl_mutual = false;
  std::string server_cert;
  std::string server_key;
  std::string root_cert;
  // Seconds between looks at the three files (--grpc-cert-refresh-secs): a
  // set that changed and passes the checks of CertificateReloader is served
  // to new connections from then on, without a restart. Default 60.
  // 0: the files are read once, at start-up.
  int cert_refresh_secs = 60;

  // Headers the protocol groups need (--grpc-restricted-protocol).
  AccessPolicy access;

  // HTTP/2 connection management, Triton's names and gRPC's defaults (see
  // docs/security.md). Every value is passed to gRPC as a channel argument.
  int keepalive_time_ms = 7200000;
  int keepalive_timeout_ms = 20000;
  bool keepalive_permit_without_calls = false;
  int http2_max_pings_without_data = 2;
  int http2_min_recv_ping_interval_without_data_ms = 300000;
  int http2_max_ping_strikes = 2;
  // Concurrent calls per client connection. gRPC's own default is
  // unlimited; 1024 keeps one connection from holding unbounded server
  // memory while leaving far more than a client's useful concurrency.
  int max_concurrent_streams = 1024;
  // Bytes gRPC may hold for all connections together (a grpc::ResourceQuota):
  // read buffers, calls' arenas, and request messages until the service has
  // taken them. Past it gRPC reclaims: idle connections get a GOAWAY, then
  // calls in flight are cancelled one at a time (the client sees
  // RESOURCE_EXHAUSTED) until usage is under it again. 0: no quota
  // (gRPC's default). Default 1 GiB.
  int64_t max_memory_bytes = int64_t{1} << 30;
  // After this long a connection is asked to go away (a graceful GOAWAY:
  // calls on it finish, the client opens a new one, possibly to another
  // replica), and closed `max_connection_age_grace_ms` later. 0: never.
  // Rebalances long-lived connections across replicas, and lets the drain
  // empty a replica of connections before its shutdown.
  int max_connection_age_ms = 0;
  int max_connection_age_grace_ms = 0;
  // A connection with no call for this long is asked away (GOAWAY) and
  // closed; the client reconnects when it next calls. 0: never.
  int max_connection_idle_ms = 0;
  // gRPC's bandwidth-delay-product probe sends a PING on a connection
  // whenever data arrives, to size its flow-control windows. Off by default:
  // nginx (1.22, grpc_pass) fails a call whose complete response arrives
  // with such a PING still to answer when the server then closes the
  // connection (as it does after a connection's age-out GOAWAY), so every
  // age-out risked one failed call behind it. Without the probe the stream
  // window is fixed at `http2_stream_window_bytes`.
  bool http2_bdp_probe = false;
  int http2_stream_window_bytes = 4 << 20;
  // Triton's --strict-readiness: the server is ready only while every model
  // it is asked to serve has a ready version. false: ready once the
  // start-up load has finished (each model's own readiness still answers
  // for it).
  bool strict_readiness = true;
};

// The credentials of the gRPC port and what keeps them fresh.
struct GrpcCredentials {
  // Reloads the TLS files into `credentials`; null when there is nothing to
  // reload (plaintext, or cert_refresh_secs 0). Must outlive the server
  // that uses `credentials` (and `credentials`: declared first, destroyed
  // last).
  std::unique_ptr<CertificateReloader> reloader;
  std::shared_ptr<grpc::ServerCredentials> credentials;
};

// The credentials `options` ask for: insecure, TLS or mutual TLS. Reads and
// checks the PEM files (see ReadTlsFiles()). InvalidArgument naming the flag
// and file when a file is missing, unreadable, not PEM or does not parse,
// when the key is not the certificate's, or when the TLS flags contradict
// each other.
absl::StatusOr<GrpcCredentials> MakeServerCredentials(
    const ServerOptions& options);

// What MakeServerCredentials() checks, without making anything (no thread,
// no gRPC object): for checking flags before start-up work.
absl::Status CheckServerCredentials(const ServerOptions& options);

// The running gRPC server: GRPCInferenceService, grpc.health.v1.Health (its
// status follows the repository's readiness) and server reflection.
// Thread-safe. The destructor shuts down (see Shutdown()).
class InferenceServer {
 public:
  // Binds and starts serving `repository` (which must outlive the server).
  // Unavailable when the address cannot be bound; InvalidArgument for bad TLS
  // options (see MakeServerCredentials()).
  // `metrics` (null: none) must outlive the server too.
  static absl::StatusOr<std::unique_ptr<InferenceServer>> Start(
      const ServerOptions& options, ModelRepository* repository,
      metrics::ServerMetrics* metrics = nullptr);

  ~InferenceServer();

  // The bound port (the chosen one when options.grpc_port was 0).
  int port() const { return port_; }

  // What the HTTP front end shares with gRPC's service.
  InferenceCore* core() { return service_.core(); }

  // Health and readiness answer NOT_SERVING from now on; calls are still
  // served (the drain notice before Shutdown()).
  void StartDraining();

  // Closes the gRPC port: connection attempts are refused, connections
  // already open are served on (they leave at their maximum age, or at
  // Shutdown()). Idempotent.
  void StopAccepting() { listener_->StopAccepting(); }

  // Re-reads readiness into the health service.
  void UpdateHealth();

  // Marks the server NOT_SERVING, stops taking calls, waits for calls in
  // flight (up to `grace`), then cancels the rest. Idempotent.
  void Shutdown(absl::Duration grace = absl::Seconds(5));

  // Whether health checks answer SERVING: every model ready, not draining
  // or shutting down.
  bool Serving() const;

  // What reloads the TLS files; null when nothing does (plaintext, or
  // cert_refresh_secs 0).
  const CertificateReloader* certificates() const {
    return certificates_.get();
  }

 private:
  InferenceServer(ModelRepository* repository, metrics::ServerMetrics* metrics,
                  AccessPolicy access)
      : repository_(repository),
        access_(CountingIn(std::move(access), metrics)),
        service_(repository, metrics, &access_) {}

  static AccessPolicy CountingIn(AccessPolicy access,
                                 metrics::ServerMetrics* metrics) {
    access.CountRefusalsIn(metrics, Protocol::kGrpc);
    return access;
  }

  ModelRepository* const repository_;
  const AccessPolicy access_;  // before service_, which points to it
  InferenceService service_;
  // grpc.health.v1.Health with access checks, in place of gRPC's default
  // service, when the health protocol is restricted.
  std::unique_ptr<grpc::CallbackGenericService> restricted_health_;
  // Before server_, whose TLS credentials read the files it publishes.
  std::unique_ptr<CertificateReloader> certificates_;
  std::unique_ptr<grpc::Server> server_;
  // The port, owned by inferd; after server_, which it hands connections
  // to, so that it is destroyed (stops accepting) first.
  std::unique_ptr<GrpcListener> listener_;
  int port_ = 0;
  // Written by the owner's thread, read by the load thread's UpdateHealth().
  std::atomic<bool> shut_down_{false};
};

}  // namespace inferd

#endif  // INFERD_SERVICE_SERVER_H_
