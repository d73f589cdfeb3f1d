// The model repository extension of GRPCInferenceService: RepositoryIndex,
// RepositoryModelLoad, RepositoryModelUnload, and ModelStatistics.

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "service/inference_service.h"
#include "service/status_util.h"

namespace inferd {
namespace {

grpc::ServerUnaryReactor* Done(grpc::CallbackServerContext* context,
                               const absl::Status& status) {
  return FinishNow(context, ToGrpcStatus(status));
}

absl::Status RequireExplicitMode(const ModelRepository& repository,
                                 const char* rpc) {
  if (repository.mode() == ControlMode::kExplicit) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      rpc, " needs --model-control-mode=explicit; this server runs in ",
      repository.mode() == ControlMode::kPoll ? "poll" : "none", " mode"));
}

void FillDuration(uint64_t count, uint64_t ns,
                  inference::StatisticDuration* out) {
  out->set_count(count);
  out->set_ns(ns);
}

void FillStatistics(const std::string& name, int64_t version,
                    const ServableStatistics& s,
                    inference::ModelStatistics* out) {
  out->set_name(name);
  out->set_version(absl::StrCat(version));
  out->set_last_inference(s.last_inference_ms);
  out->set_inference_count(s.inference_count);
  out->set_execution_count(s.execution_count);
  auto* stats = out->mutable_inference_stats();
  FillDuration(s.success_count, s.success_ns, stats->mutable_success());
  FillDuration(s.fail_count, s.fail_ns, stats->mutable_fail());
  FillDuration(s.queue_count, s.queue_ns, stats->mutable_queue());
  FillDuration(s.compute_count, s.compute_ns, stats->mutable_compute_infer());
}

}  // namespace

grpc::ServerUnaryReactor* InferenceService::RepositoryIndex(
    grpc::CallbackServerContext* context,
    const inference::RepositoryIndexRequest* request,
    inference::RepositoryIndexResponse* response) {
  if (auto* refused = Refused(context, "RepositoryIndex")) return refused;
  for (const ModelStatus& model : repository_->List()) {
    if (model.versions.empty() && !request->ready()) {
      auto* index = response->add_models();
      index->set_name(model.name);
      index->set_state("UNAVAILABLE");
      index->set_reason(model.failure);
    }
    for (const VersionStatus& version : model.versions) {
      if (request->ready() && version.state != VersionState::kReady) continue;
      auto* index = response->add_models();
      index->set_name(model.name);
      index->set_version(absl::StrCat(version.version));
      index->set_state(VersionStateName(version.state));
      index->set_reason(version.reason);
    }
  }
  return Done(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* InferenceService::RepositoryModelLoad(
    grpc::CallbackServerContext* context,
    const inference::RepositoryModelLoadRequest* request,
    inference::RepositoryModelLoadResponse*) {
  if (auto* refused = Refused(context, "RepositoryModelLoad")) return refused;
  absl::Status allowed =
      RequireExplicitMode(*repository_, "RepositoryModelLoad");
  if (!allowed.ok()) return Done(context, allowed);
  // Loading takes long: it runs on the load thread, which finishes the call.
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  loads_.Post([this, reactor, name = request->model_name()] {
    reactor->Finish(ToGrpcStatus(repository_->LoadModel(name)));
  });
  return reactor;
}

grpc::ServerUnaryReactor* InferenceService::RepositoryModelUnload(
    grpc::CallbackServerContext* context,
    const inference::RepositoryModelUnloadRequest* request,
    inference::RepositoryModelUnloadResponse*) {
  if (auto* refused = Refused(context, "RepositoryModelUnload")) return refused;
  absl::Status allowed =
      RequireExplicitMode(*repository_, "RepositoryModelUnload");
  if (!allowed.ok()) return Done(context, allowed);
  return Done(context, repository_->UnloadModel(request->model_name()));
}

grpc::ServerUnaryReactor* InferenceService::ModelStatistics(
    grpc::CallbackServerContext* context,
    const inference::ModelStatisticsRequest* request,
    inference::ModelStatisticsResponse* response) {
  if (auto* refused = Refused(context, "ModelStatistics")) return refused;
  if (!request->name().empty() && !repository_->Contains(request->name())) {
    return Done(context, absl::NotFoundError(absl::StrCat(
                             "unknown model \"", request->name(), "\"")));
  }
  for (const ModelStatus& model : repository_->List()) {
    if (!request->name().empty() && model.name != request->name()) continue;
    for (int64_t version : model.ready_versions) {
      if (!request->version().empty() &&
          request->version() != absl::StrCat(version)) {
        continue;
      }
      auto servable = repository_->Get(model.name, absl::StrCat(version));
      if (!servable.ok()) continue;  // retired since List()
      FillStatistics(model.name, version, (*servable)->statistics(),
                     response->add_model_stats());
    }
  }
  if (!request->version().empty() && response->model_stats_size() == 0) {
    return Done(context, absl::NotFoundError(absl::StrCat(
                             "model \"", request->name(),
                             "\" has no ready version ", request->version())));
  }
  return Done(context, absl::OkStatus());
}

}  // namespace inferd
