#include "service/inference_service.h"

#include <atomic>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "model_store/data_type.h"
#include "service/status_util.h"
#include "service/tensor_codec.h"

namespace inferd {
namespace {

constexpr char kServerName[] = "inferd";
constexpr char kServerVersion[] = "0.1.0";

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
  InferReactor(std::shared_ptr<ServableModel> model,
               inference::ModelInferResponse* response)
      : model_(std::move(model)), response_(response) {}

  void OnCancel() override {
    cancelled_.store(true, std::memory_order_relaxed);
  }
  void OnDone() override { delete this; }

  // The servable has accounted the request (statistics and metrics).
  void Answer(absl::StatusOr<InferResponse> result) {
    if (result.ok()) EncodeInferResponse(std::move(*result), response_);
    Finish(ToGrpcStatus(result.status()));
  }

  const std::atomic<bool>* cancelled() const { return &cancelled_; }

 private:
  // Keeps the version alive while the call uses it.
  const std::shared_ptr<ServableModel> model_;
  inference::ModelInferResponse* const response_;
  // Set by gRPC when the client cancels or its deadline passes.
  std::atomic<bool> cancelled_{false};
};

void FillTensorMetadata(const std::string& name, inference::DataType type,
                        const google::protobuf::RepeatedField<int64_t>& dims,
                        bool batched,
                        inference::ModelMetadataResponse::TensorMetadata* out) {
  out->set_name(name);
  out->set_datatype(WireName(type));
  if (batched) out->add_shape(-1);
  for (int64_t dim : dims) out->add_shape(dim);
}

// The status of model `name`, or NotFound.
absl::StatusOr<ModelStatus> FindModel(const ModelRepository& repository,
                                      const std::string& name) {
  for (ModelStatus& status : repository.List()) {
    if (status.name == name) return std::move(status);
  }
  return absl::NotFoundError(absl::StrCat("unknown model \"", name, "\""));
}

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
  response->set_ready(repository_->AllReady());
  return FinishNow(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* InferenceService::ModelReady(
    grpc::CallbackServerContext* context,
    const inference::ModelReadyRequest* request,
    inference::ModelReadyResponse* response) {
  if (auto* refused = Refused(context, "ModelReady")) return refused;
  response->set_ready(
      repository_->Get(request->name(), request->version()).ok());
  return FinishNow(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* InferenceService::ServerMetadata(
    grpc::CallbackServerContext* context,
    const inference::ServerMetadataRequest*,
    inference::ServerMetadataResponse* response) {
  if (auto* refused = Refused(context, "ServerMetadata")) return refused;
  response->set_name(kServerName);
  response->set_version(kServerVersion);
  response->add_extensions("classification");
  response->add_extensions("model_configuration");
  response->add_extensions("schedule_policy");
  return FinishNow(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* InferenceService::ModelMetadata(
    grpc::CallbackServerContext* context,
    const inference::ModelMetadataRequest* request,
    inference::ModelMetadataResponse* response) {
  if (auto* refused = Refused(context, "ModelMetadata")) return refused;
  absl::StatusOr<std::shared_ptr<ServableModel>> model =
      repository_->Get(request->name(), request->version());
  if (!model.ok()) return FinishNow(context, ToGrpcStatus(model.status()));
  absl::StatusOr<ModelStatus> status = FindModel(*repository_, request->name());
  if (!status.ok()) return FinishNow(context, ToGrpcStatus(status.status()));
  const inference::ModelConfig& config = (*model)->config();
  const bool batched = config.max_batch_size() > 0;
  response->set_name(config.name());
  response->set_platform(config.platform());
  for (int64_t version : status->ready_versions) {
    response->add_versions(absl::StrCat(version));
  }
  for (const auto& input : config.input()) {
    FillTensorMetadata(input.name(), input.data_type(), input.dims(), batched,
                       response->add_inputs());
  }
  for (const auto& output : config.output()) {
    FillTensorMetadata(output.name(), output.data_type(), output.dims(),
                       batched, response->add_outputs());
  }
  return FinishNow(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* InferenceService::ModelConfig(
    grpc::CallbackServerContext* context,
    const inference::ModelConfigRequest* request,
    inference::ModelConfigResponse* response) {
  if (auto* refused = Refused(context, "ModelConfig")) return refused;
  absl::StatusOr<std::shared_ptr<ServableModel>> model =
      repository_->Get(request->name(), request->version());
  if (!model.ok()) return FinishNow(context, ToGrpcStatus(model.status()));
  *response->mutable_config() = (*model)->config();
  return FinishNow(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* InferenceService::ModelInfer(
    grpc::CallbackServerContext* context,
    const inference::ModelInferRequest* request,
    inference::ModelInferResponse* response) {
  const absl::Time start = absl::Now();
  if (absl::Status allowed = CheckAccess(*context, "ModelInfer");
      !allowed.ok()) {
    CountUnresolved(request->model_name(), allowed, start);
    return FinishNow(context, ToGrpcStatus(allowed));
  }
  absl::StatusOr<std::shared_ptr<ServableModel>> model =
      repository_->Get(request->model_name(), request->model_version());
  if (!model.ok()) {
    CountUnresolved(request->model_name(), model.status(), start);
    return FinishNow(context, ToGrpcStatus(model.status()));
  }
  auto* reactor = new InferReactor(*model, response);
  auto answer = [reactor](absl::StatusOr<InferResponse> result) {
    reactor->Answer(std::move(result));
  };
  InferRequest decoded;
  if (absl::Status s = DecodeInferRequest(*request, &decoded); !s.ok()) {
    (*model)->Refuse(s, std::move(answer));
    return reactor;
  }
  decoded.deadline = absl::FromChrono(context->deadline());
  decoded.cancelled = reactor->cancelled();
  (*model)->Infer(std::move(decoded), std::move(answer));
  return reactor;
}

void InferenceService::CountUnresolved(const std::string& model,
                                       const absl::Status& status,
                                       absl::Time start) {
  if (metrics_ == nullptr) return;
  // Only names the repository knows become label values.
  metrics_->CountUnresolvedRequest(repository_->Contains(model) ? model : "",
                                   status.code(), absl::Now() - start);
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
  return new FinishedStream(grpc::Status(
      grpc::StatusCode::UNIMPLEMENTED,
      absl::StrCat("ModelStreamInfer is not implemented by inferd ",
                   kServerVersion, "; use ModelInfer")));
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
