#include "service/inference_core.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/client_text.h"
#include "model_store/data_type.h"
#include "model_store/model_config.h"
#include "model_store/repository_scan.h"
#include "service/tensor_codec.h"

namespace inferd {
namespace {

constexpr char kServerName[] = "inferd";

absl::Status RequireExplicitMode(const ModelRepository& repository,
                                 const char* rpc) {
  if (repository.mode() == ControlMode::kExplicit) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      rpc, " needs --model-control-mode=explicit; this server runs in ",
      repository.mode() == ControlMode::kPoll ? "poll" : "none", " mode"));
}

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
  FillDuration(s.compute_count, s.compute_input_ns,
               stats->mutable_compute_input());
  FillDuration(s.compute_count, s.compute_ns, stats->mutable_compute_infer());
  FillDuration(s.compute_output_count, s.compute_output_ns,
               stats->mutable_compute_output());
}

}  // namespace

void InferenceCore::ServerMetadata(
    inference::ServerMetadataResponse* out) const {
  out->set_name(kServerName);
  out->set_version(kServerVersion);
  for (const char* extension : kServerExtensions)
    out->add_extensions(extension);
}

absl::Status InferenceCore::ModelMetadata(
    const inference::ModelMetadataRequest& request,
    inference::ModelMetadataResponse* out) const {
  absl::StatusOr<std::shared_ptr<ServableModel>> model =
      repository_->Get(request.name(), request.version());
  if (!model.ok()) return model.status();
  absl::StatusOr<ModelStatus> status = FindModel(*repository_, request.name());
  if (!status.ok()) return status.status();
  const inference::ModelConfig& config = (*model)->config();
  const bool batched = config.max_batch_size() > 0;
  out->set_name(config.name());
  out->set_platform(config.platform());
  for (int64_t version : status->ready_versions) {
    out->add_versions(absl::StrCat(version));
  }
  for (const auto& input : config.input()) {
    FillTensorMetadata(input.name(), input.data_type(), input.dims(), batched,
                       out->add_inputs());
  }
  for (const auto& output : config.output()) {
    FillTensorMetadata(output.name(), output.data_type(), output.dims(),
                       batched, out->add_outputs());
  }
  return absl::OkStatus();
}

absl::Status InferenceCore::ModelConfig(
    const inference::ModelConfigRequest& request,
    inference::ModelConfigResponse* out) const {
  absl::StatusOr<std::shared_ptr<ServableModel>> model =
      repository_->Get(request.name(), request.version());
  if (!model.ok()) return model.status();
  *out->mutable_config() = (*model)->config();
  return absl::OkStatus();
}

absl::Status InferenceCore::ModelStatistics(
    const inference::ModelStatisticsRequest& request,
    inference::ModelStatisticsResponse* out) const {
  if (!request.name().empty() && !repository_->Contains(request.name())) {
    return absl::NotFoundError(
        absl::StrCat("unknown model \"", request.name(), "\""));
  }
  for (const ModelStatus& model : repository_->List()) {
    if (!request.name().empty() && model.name != request.name()) continue;
    for (int64_t version : model.ready_versions) {
      if (!request.version().empty() &&
          request.version() != absl::StrCat(version)) {
        continue;
      }
      auto servable = repository_->Get(model.name, absl::StrCat(version));
      if (!servable.ok()) continue;  // retired since List()
      FillStatistics(model.name, version, (*servable)->statistics(),
                     out->add_model_stats());
    }
  }
  if (!request.version().empty() && out->model_stats_size() == 0) {
    return absl::NotFoundError(absl::StrCat("model \"", request.name(),
                                            "\" has no ready version ",
                                            request.version()));
  }
  return absl::OkStatus();
}

void InferenceCore::RepositoryIndex(
    const inference::RepositoryIndexRequest& request,
    inference::RepositoryIndexResponse* out) const {
  std::vector<ModelStatus> models = repository_->List();
  // Explicit mode knows only what was asked for; the index lists every
  // model directory, as Triton's, those never loaded with no state.
  if (repository_->mode() == ControlMode::kExplicit && !request.ready()) {
    absl::StatusOr<std::vector<std::string>> dirs =
        ListModelDirs(repository_->root());
    if (dirs.ok()) {
      for (const std::string& name : *dirs) {
        if (!repository_->Contains(name)) {
          out->add_models()->set_name(name);
        }
      }
    }
  }
  for (const ModelStatus& model : models) {
    if (model.versions.empty() && !request.ready()) {
      auto* index = out->add_models();
      index->set_name(model.name);
      index->set_state("UNAVAILABLE");
      index->set_reason(model.failure);
    }
    for (const VersionStatus& version : model.versions) {
      if (request.ready() && version.state != VersionState::kReady) continue;
      auto* index = out->add_models();
      index->set_name(model.name);
      index->set_version(absl::StrCat(version.version));
      index->set_state(VersionStateName(version.state));
      index->set_reason(version.reason);
    }
  }
  std::stable_sort(
      out->mutable_models()->begin(), out->mutable_models()->end(),
      [](const auto& a, const auto& b) { return a.name() < b.name(); });
}

void InferenceCore::RepositoryModelLoad(
    const inference::RepositoryModelLoadRequest& request,
    std::function<void(absl::Status)> done) {
  absl::Status allowed =
      RequireExplicitMode(*repository_, "RepositoryModelLoad");
  if (!allowed.ok()) return done(allowed);
  // Never a silent OK: a parameter inferd does not apply is refused.
  std::optional<inference::ModelConfig> config;
  for (const auto& [key, value] : request.parameters()) {
    if (key == "config") {
      if (value.parameter_choice_case() !=
          inference::ModelRepositoryParameter::kStringParam) {
        return done(absl::InvalidArgumentError(
            "RepositoryModelLoad parameter \"config\" must be a string: the "
            "model configuration in JSON"));
      }
      absl::StatusOr<inference::ModelConfig> parsed =
          ParseModelConfigJson(value.string_param(), request.model_name());
      if (!parsed.ok()) return done(parsed.status());
      config = std::move(*parsed);
    } else if (absl::StartsWith(key, "file:")) {
      return done(absl::UnimplementedError(absl::StrCat(
          "RepositoryModelLoad parameter \"", ClientText(key),
          "\" is not implemented by inferd ", kServerVersion,
          ": put the model's files in the repository, then load it")));
    } else {
      return done(absl::InvalidArgumentError(
          absl::StrCat("unknown RepositoryModelLoad parameter \"",
                       ClientText(key), "\"; expected \"config\"")));
    }
  }
  loads_.Post([this, done = std::move(done), name = request.model_name(),
               config = std::move(config)]() mutable {
    done(repository_->LoadModel(name, std::move(config)));
  });
}

absl::Status InferenceCore::RepositoryModelUnload(
    const inference::RepositoryModelUnloadRequest& request) {
  absl::Status allowed =
      RequireExplicitMode(*repository_, "RepositoryModelUnload");
  if (!allowed.ok()) return allowed;
  return repository_->UnloadModel(request.model_name());
}

void InferenceCore::Infer(const inference::ModelInferRequest& request,
                          const Call& call, InferCallback done) {
  absl::StatusOr<std::shared_ptr<ServableModel>> model =
      repository_->Get(request.model_name(), request.model_version());
  if (!model.ok()) {
    CountUnresolved(request.model_name(), model.status(), call);
    return done(model.status());
  }
  // The call keeps the version alive until it is answered, and lets go
  // before answering: once the caller has its answer it may shut the
  // server down, which the version must not outlive. One holder for every
  // copy of the callback.
  auto held = std::make_shared<std::shared_ptr<ServableModel>>(*model);
  InferCallback answer =
      [held, done = std::move(done)](absl::StatusOr<InferResponse> result) {
        held->reset();
        done(std::move(result));
      };
  InferRequest decoded;
  if (absl::Status s = DecodeInferRequest(request, &decoded); !s.ok()) {
    return (*model)->Refuse(s, call.protocol, answer);
  }
  decoded.deadline = call.deadline;
  decoded.cancelled = call.cancelled;
  decoded.protocol = call.protocol;
  (*model)->Infer(std::move(decoded), std::move(answer));
}

void InferenceCore::CountUnresolved(const std::string& model,
                                    const absl::Status& status,
                                    const Call& call) {
  if (metrics_ == nullptr) return;
  // Only names the repository knows become label values.
  metrics_->CountUnresolvedRequest(call.protocol,
                                   repository_->Contains(model) ? model : "",
                                   status.code(), absl::Now() - call.start);
}

}  // namespace inferd
