#ifndef INFERD_SERVICE_SERVER_H_
#define INFERD_SERVICE_SERVER_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "model_store/model_repository.h"
#include "service/inference_service.h"

namespace inferd {

struct ServerOptions {
  // Address to bind, e.g. "127.0.0.1" or "0.0.0.0". Default loopback only.
  std::string host = "127.0.0.1";
  // gRPC port; 0 picks a free port (see InferenceServer::port()).
  int grpc_port = 8001;
  // Largest request or response message in bytes. Default 64 MiB.
  int max_message_bytes = 64 << 20;
};

// The running gRPC server: GRPCInferenceService, grpc.health.v1.Health (its
// status follows the repository's readiness) and server reflection.
// Thread-safe. The destructor shuts down (see Shutdown()).
class InferenceServer {
 public:
  // Binds and starts serving `repository` (which must outlive the server).
  // Unavailable when the address cannot be bound.
  // `metrics` (null: none) must outlive the server too.
  static absl::StatusOr<std::unique_ptr<InferenceServer>> Start(
      const ServerOptions& options, ModelRepository* repository,
      metrics::ServerMetrics* metrics = nullptr);

  ~InferenceServer();

  // The bound port (the chosen one when options.grpc_port was 0).
  int port() const { return port_; }

  // Re-reads readiness into the health service.
  void UpdateHealth();

  // Marks the server NOT_SERVING, stops taking calls, waits for calls in
  // flight (up to `grace`), then cancels the rest. Idempotent.
  void Shutdown(absl::Duration grace = absl::Seconds(5));

 private:
  InferenceServer(ModelRepository* repository, metrics::ServerMetrics* metrics)
      : repository_(repository), service_(repository, metrics) {}

  ModelRepository* const repository_;
  InferenceService service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  // Written by the owner's thread, read by the load thread's UpdateHealth().
  std::atomic<bool> shut_down_{false};
};

}  // namespace inferd

#endif  // INFERD_SERVICE_SERVER_H_
