#ifndef INFERD_SERVICE_INFERENCE_SERVICE_H_
#define INFERD_SERVICE_INFERENCE_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <functional>
#include <string>

#include "absl/strings/string_view.h"
#include "metrics/metrics.h"
#include "model_store/infer_request.h"
#include "model_store/model_repository.h"
#include "proto/inference.grpc.pb.h"
#include "service/access_control.h"
#include "service/inference_core.h"

namespace inferd {

// OK when `policy` (null: nothing restricted) lets the call to `full_method`
// ("/package.Service/Rpc") through with the metadata its client sent; else
// PERMISSION_DENIED naming the header it lacked.
absl::Status CheckCallAccess(const AccessPolicy* policy,
                             const grpc::ServerContextBase& context,
                             absl::string_view full_method);

// GRPCInferenceService over a ModelRepository, on gRPC's callback API: no
// thread waits for an inference; requests are answered from the model's
// workers. RPCs inferd does not implement yet answer UNIMPLEMENTED naming the
// RPC. Every RPC first checks `access` (--grpc-restricted-protocol).
// Thread-safe.
class InferenceService final
    : public inference::GRPCInferenceService::CallbackService {
 public:
  // `repository`, `metrics` (null: no metrics) and `access` (null: nothing
  // restricted) must outlive the service.
  explicit InferenceService(ModelRepository* repository,
                            metrics::ServerMetrics* metrics = nullptr,
                            const AccessPolicy* access = nullptr)
      : core_(repository, metrics), access_(access) {}

  InferenceCore* core() { return &core_; }
  const InferenceCore& core() const { return core_; }

  grpc::ServerUnaryReactor* ServerLive(
      grpc::CallbackServerContext* context,
      const inference::ServerLiveRequest* request,
      inference::ServerLiveResponse* response) override;
  grpc::ServerUnaryReactor* ServerReady(
      grpc::CallbackServerContext* context,
      const inference::ServerReadyRequest* request,
      inference::ServerReadyResponse* response) override;
  grpc::ServerUnaryReactor* ModelReady(
      grpc::CallbackServerContext* context,
      const inference::ModelReadyRequest* request,
      inference::ModelReadyResponse* response) override;
  grpc::ServerUnaryReactor* ServerMetadata(
      grpc::CallbackServerContext* context,
      const inference::ServerMetadataRequest* request,
      inference::ServerMetadataResponse* response) override;
  grpc::ServerUnaryReactor* ModelMetadata(
      grpc::CallbackServerContext* context,
      const inference::ModelMetadataRequest* request,
      inference::ModelMetadataResponse* response) override;
  grpc::ServerUnaryReactor* ModelConfig(
      grpc::CallbackServerContext* context,
      const inference::ModelConfigRequest* request,
      inference::ModelConfigResponse* response) override;
  grpc::ServerUnaryReactor* ModelInfer(
      grpc::CallbackServerContext* context,
      const inference::ModelInferRequest* request,
      inference::ModelInferResponse* response) override;

  grpc::ServerUnaryReactor* ModelStatistics(
      grpc::CallbackServerContext* context,
      const inference::ModelStatisticsRequest* request,
      inference::ModelStatisticsResponse* response) override;
  grpc::ServerUnaryReactor* RepositoryIndex(
      grpc::CallbackServerContext* context,
      const inference::RepositoryIndexRequest* request,
      inference::RepositoryIndexResponse* response) override;
  grpc::ServerUnaryReactor* RepositoryModelLoad(
      grpc::CallbackServerContext* context,
      const inference::RepositoryModelLoadRequest* request,
      inference::RepositoryModelLoadResponse* response) override;
  grpc::ServerUnaryReactor* RepositoryModelUnload(
      grpc::CallbackServerContext* context,
      const inference::RepositoryModelUnloadRequest* request,
      inference::RepositoryModelUnloadResponse* response) override;

  // Each request of the stream goes the way of a ModelInfer call
  // (InferenceCore::Infer) and is answered in order; see StreamInferReactor.
  grpc::ServerBidiReactor<inference::ModelInferRequest,
                          inference::ModelStreamInferResponse>*
  ModelStreamInfer(grpc::CallbackServerContext* context) override;

  // Not implemented yet: answered UNIMPLEMENTED with the RPC's name.
  grpc::ServerUnaryReactor* SystemSharedMemoryStatus(
      grpc::CallbackServerContext* context,
      const inference::SystemSharedMemoryStatusRequest* request,
      inference::SystemSharedMemoryStatusResponse* response) override;
  grpc::ServerUnaryReactor* SystemSharedMemoryRegister(
      grpc::CallbackServerContext* context,
      const inference::SystemSharedMemoryRegisterRequest* request,
      inference::SystemSharedMemoryRegisterResponse* response) override;
  grpc::ServerUnaryReactor* SystemSharedMemoryUnregister(
      grpc::CallbackServerContext* context,
      const inference::SystemSharedMemoryUnregisterRequest* request,
      inference::SystemSharedMemoryUnregisterResponse* response) override;
  grpc::ServerUnaryReactor* CudaSharedMemoryStatus(
      grpc::CallbackServerContext* context,
      const inference::CudaSharedMemoryStatusRequest* request,
      inference::CudaSharedMemoryStatusResponse* response) override;
  grpc::ServerUnaryReactor* CudaSharedMemoryRegister(
      grpc::CallbackServerContext* context,
      const inference::CudaSharedMemoryRegisterRequest* request,
      inference::CudaSharedMemoryRegisterResponse* response) override;
  grpc::ServerUnaryReactor* CudaSharedMemoryUnregister(
      grpc::CallbackServerContext* context,
      const inference::CudaSharedMemoryUnregisterRequest* request,
      inference::CudaSharedMemoryUnregisterResponse* response) override;
  grpc::ServerUnaryReactor* TraceSetting(
      grpc::CallbackServerContext* context,
      const inference::TraceSettingRequest* request,
      inference::TraceSettingResponse* response) override;
  grpc::ServerUnaryReactor* LogSettings(
      grpc::CallbackServerContext* context,
      const inference::LogSettingsRequest* request,
      inference::LogSettingsResponse* response) override;

 private:
  // Null when the call to GRPCInferenceService's `rpc` may go on; else the
  // reactor that has answered it PERMISSION_DENIED.
  grpc::ServerUnaryReactor* Refused(grpc::CallbackServerContext* context,
                                    const char* rpc) const;
  absl::Status CheckAccess(const grpc::CallbackServerContext& context,
                           const char* rpc) const;

  InferenceCore core_;
  const AccessPolicy* const access_;
};

}  // namespace inferd

#endif  // INFERD_SERVICE_INFERENCE_SERVICE_H_
