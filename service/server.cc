#include "service/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace inferd {

absl::StatusOr<std::unique_ptr<InferenceServer>> InferenceServer::Start(
    const ServerOptions& options, ModelRepository* repository,
    metrics::ServerMetrics* metrics) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  std::unique_ptr<InferenceServer> server(
      new InferenceServer(repository, metrics));
  const std::string address =
      absl::StrCat(options.host.find(':') != std::string::npos
                       ? absl::StrCat("[", options.host, "]")
                       : options.host,
                   ":", options.grpc_port);
  grpc::ServerBuilder builder;
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(),
                           &server->port_);
  builder.RegisterService(&server->service_);
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  builder.SetMaxSendMessageSize(options.max_message_bytes);
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot listen on ", address, " (address in use or not available?)"));
  }
  // Health follows readiness whenever what serves changes (polls, RPCs).
  InferenceServer* self = server.get();
  repository->SetOnChange([self] { self->UpdateHealth(); });
  server->UpdateHealth();
  return server;
}

InferenceServer::~InferenceServer() { Shutdown(); }

void InferenceServer::UpdateHealth() {
  if (server_ == nullptr) return;
  const bool ready = !shut_down_ && repository_->AllReady();
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
  server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
  server_->Wait();
}

}  // namespace inferd
