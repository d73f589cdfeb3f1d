#include "service/inference_service.h"

#include <atomic>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "service/status_util.h"
#include "service/stream_infer.h"
#include "service/tensor_codec.h"

namespace inferd {
namespace {

grpc::ServerUnaryReactor* Unimplemented(grpc::CallbackServerContext* context,
                                        const char* rpc) {
  return FinishNow(
      context, grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                            absl::StrCat(rpc, " is not implemented by inferd ",
                                         kServerVersion)));
}

// Holds one ModelInfer call until the model answers. Deleted by gRPC's
// OnDone, which comes only after Finish, so the model's callback can always
// use it.
class InferReactor final : public grpc::ServerUnaryReactor {
 public:
  explicit InferReactor(inference::ModelInferResponse* response)
      : response_(response) {}

  void OnCancel() override {
    cancelled_.store(true, std::memory_order_relaxed);
  }
  void OnDone() override { delete this; }

  // The core has accounted the request (statistics and metrics).
  void Answer(absl::StatusOr<InferResponse> result) {
    if (result.ok()) EncodeInferResponse(std::move(*result), response_);
    Finish(ToGrpcStatus(result.status()));
  }

  const std::atomic<bool>* cancelled() const { return &cancelled_; }

 private:
  inference::ModelInferResponse* const response_;
  // Set by gRPC when the client cancels or its deadline passes.
  std::atomic<bool> cancelled_{false};
};

}  // namespace

absl::Status CheckCallAccess(const AccessPolicy* policy,
                             const grpc::ServerContextBase& context,
                             absl::string_view full_method) {
  if (policy == nullptr || policy->empty()) return absl::OkStatus();
  std::optional<ProtocolGroup> group = GroupOfMethod(full_method);
  // Methods outside the groups (server reflection) are never restricted, as
  // in Triton.
  if (!group.has_value()) return absl::OkStatus();
  const AccessPolicy::Restriction* restriction = policy->restriction(*group);
  if (restriction == nullptr) return absl::OkStatus();
  std::optional<absl::string_view> value;
  const auto& metadata = context.client_metadata();
  if (auto it = metadata.find(restriction->key); it != metadata.end()) {
    value = absl::string_view(it->second.data(), it->second.size());
  }
  return policy->Check(*group, value);
}

absl::Status InferenceService::CheckAccess(
    const grpc::CallbackServerContext& context, const char* rpc) const {
  if (access_ == nullptr || access_->empty()) return absl::OkStatus();
  return CheckCallAccess(access_, context,
                         absl::StrCat("/inference.GRPCInferenceService/", rpc));
}

grpc::ServerUnaryReactor* InferenceService::Refused(
    grpc::CallbackServerContext* context, const char* rpc) const {
  absl::Status allowed = CheckAccess(*context, rpc);
  if (allowed.ok()) return nullptr;
  return FinishNow(context, ToGrpcStatus(allowed));
}

grpc::ServerUnaryReactor* InferenceService::ServerLive(
    grpc::CallbackServerContext* context, const inference::ServerLiveRequest*,
    inference::ServerLiveResponse* response) {
  if (auto* refused = Refused(context, "ServerLive")) return refused;
  response->set_live(true);
  return FinishNow(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* InferenceService::ServerReady(
    grpc::CallbackServerContext* context, const inference::ServerReadyRequest*,
    inference::ServerReadyResponse* response) {
  if (auto* refused = Refused(context, "ServerReady")) return refused;
  response->set_ready(core_.ServerReady());
  return FinishNow(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* InferenceService::ModelReady(
    grpc::CallbackServerContext* context,
    const inference::ModelReadyRequest* request,
    inference::ModelReadyResponse* response) {
  if (auto* refused = Refused(context, "ModelReady")) return refused;
  response->set_ready(core_.ModelReady(request->name(), request->version()));
  return FinishNow(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* InferenceService::ServerMetadata(
    grpc::CallbackServerContext* context,
    const inference::ServerMetadataRequest*,
    inference::ServerMetadataResponse* response) {
  if (auto* refused = Refused(context, "ServerMetadata")) return refused;
  core_.ServerMetadata(response);
  return FinishNow(context, grpc::Status::OK);
}

// The unary RPCs the core answers at once.
#define INFERD_CORE_RPC(Rpc)                                                \
  grpc::ServerUnaryReactor* InferenceService::Rpc(                          \
      grpc::CallbackServerContext* context,                                 \
      const inference::Rpc##Request* request,                               \
      inference::Rpc##Response* response) {                                 \
    if (auto* refused = Refused(context, #Rpc)) return refused;             \
    return FinishNow(context, ToGrpcStatus(core_.Rpc(*request, response))); \
  }

INFERD_CORE_RPC(ModelMetadata)
INFERD_CORE_RPC(ModelConfig)
INFERD_CORE_RPC(ModelStatistics)

#undef INFERD_CORE_RPC

grpc::ServerUnaryReactor* InferenceService::RepositoryIndex(
    grpc::CallbackServerContext* context,
    const inference::RepositoryIndexRequest* request,
    inference::RepositoryIndexResponse* response) {
  if (auto* refused = Refused(context, "RepositoryIndex")) return refused;
  core_.RepositoryIndex(*request, response);
  return FinishNow(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* InferenceService::RepositoryModelLoad(
    grpc::CallbackServerContext* context,
    const inference::RepositoryModelLoadRequest* request,
    inference::RepositoryModelLoadResponse*) {
  if (auto* refused = Refused(context, "RepositoryModelLoad")) return refused;
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  core_.RepositoryModelLoad(*request, [reactor](const absl::Status& status) {
    reactor->Finish(ToGrpcStatus(status));
  });
  return reactor;
}

grpc::ServerUnaryReactor* InferenceService::RepositoryModelUnload(
    grpc::CallbackServerContext* context,
    const inference::RepositoryModelUnloadRequest* request,
    inference::RepositoryModelUnloadResponse*) {
  if (auto* refused = Refused(context, "RepositoryModelUnload")) return refused;
  return FinishNow(context,
                   ToGrpcStatus(core_.RepositoryModelUnload(*request)));
}

grpc::ServerUnaryReactor* InferenceService::ModelInfer(
    grpc::CallbackServerContext* context,
    const inference::ModelInferRequest* request,
    inference::ModelInferResponse* response) {
  InferenceCore::Call call{absl::Now(), Protocol::kGrpc};
  if (absl::Status allowed = CheckAccess(*context, "ModelInfer");
      !allowed.ok()) {
    core_.CountUnresolved(request->model_name(), allowed, call);
    return FinishNow(context, ToGrpcStatus(allowed));
  }
  auto* reactor = new InferReactor(response);
  call.deadline = absl::FromChrono(context->deadline());
  call.cancelled = reactor->cancelled();
  core_.Infer(*request, call, [reactor](absl::StatusOr<InferResponse> result) {
    reactor->Answer(std::move(result));
  });
  return reactor;
}

namespace {

// Answers a stream with `status` as soon as it opens.
class FinishedStream final
    : public grpc::ServerBidiReactor<inference::ModelInferRequest,
                                     inference::ModelStreamInferResponse> {
 public:
  explicit FinishedStream(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};

}  // namespace

grpc::ServerBidiReactor<inference::ModelInferRequest,
                        inference::ModelStreamInferResponse>*
InferenceService::ModelStreamInfer(grpc::CallbackServerContext* context) {
  absl::Status allowed = CheckAccess(*context, "ModelStreamInfer");
  if (!allowed.ok()) return new FinishedStream(ToGrpcStatus(allowed));
  // gRPC's Shutdown waits for every reactor's OnDone, after which the
  // reactor submits nothing: the service outlives every use of `this`.
  return new StreamInferReactor(
      absl::FromChrono(context->deadline()),
      [this](const inference::ModelInferRequest& request, absl::Time start,
             absl::Time deadline, const std::atomic<bool>* cancelled,
             InferCallback done) {
        core_.Infer(
            request,
            InferenceCore::Call{start, Protocol::kGrpc, deadline, cancelled},
            std::move(done));
      });
}

#define INFERD_UNIMPLEMENTED_RPC(Rpc)                                       \
  grpc::ServerUnaryReactor* InferenceService::Rpc(                          \
      grpc::CallbackServerContext* context, const inference::Rpc##Request*, \
      inference::Rpc##Response*) {                                          \
    if (auto* refused = Refused(context, #Rpc)) return refused;             \
    return Unimplemented(context, #Rpc);                                    \
  }

INFERD_UNIMPLEMENTED_RPC(SystemSharedMemoryStatus)
INFERD_UNIMPLEMENTED_RPC(SystemSharedMemoryRegister)
INFERD_UNIMPLEMENTED_RPC(SystemSharedMemoryUnregister)
INFERD_UNIMPLEMENTED_RPC(CudaSharedMemoryStatus)
INFERD_UNIMPLEMENTED_RPC(CudaSharedMemoryRegister)
INFERD_UNIMPLEMENTED_RPC(CudaSharedMemoryUnregister)
INFERD_UNIMPLEMENTED_RPC(TraceSetting)
INFERD_UNIMPLEMENTED_RPC(LogSettings)

#undef INFERD_UNIMPLEMENTED_RPC

}  // namespace inferd
