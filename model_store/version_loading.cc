#include "model_store/version_loading.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "model_store/model_config.h"
#include "model_store/output_encoding.h"
#include "model_store/repository_paths.h"
#include "model_store/validation_gate.h"
#include "model_store/warm_up.h"

namespace inferd {
namespace {

absl::StatusOr<std::vector<std::vector<std::string>>> LoadAllLabels(
    const inference::ModelConfig& config, const std::string& model_dir) {
  std::vector<std::vector<std::string>> labels(config.output_size());
  for (int i = 0; i < config.output_size(); ++i) {
    const std::string& file = config.output(i).label_filename();
    if (file.empty()) continue;
    const std::string field = absl::StrCat("output[", i, "].label_filename");
    absl::StatusOr<std::string> path = ResolveInside(model_dir, file, field);
    if (!path.ok()) return absl::InvalidArgumentError(path.status().message());
    absl::StatusOr<std::vector<std::string>> read = ReadLabels(*path);
    if (!read.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": ", read.status().message()));
    }
    labels[i] = std::move(*read);
  }
  return labels;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ServableModel>> LoadServable(
    const VersionLoadContext& context, const inference::ModelConfig& config,
    const std::string& model_dir, int64_t version) {
  absl::StatusOr<std::vector<std::vector<std::string>>> labels =
      LoadAllLabels(config, model_dir);
  if (!labels.ok()) return labels.status();
  const std::string version_dir = absl::StrCat(model_dir, "/", version);
  absl::StatusOr<std::unique_ptr<Model>> model =
      context.loader->Load(config, version_dir);
  if (!model.ok()) return model.status();
  if (absl::Status s = WarmUp(config, model->get()); !s.ok()) return s;
  if (absl::Status s = RunValidationGate(config, model->get(), version_dir);
      !s.ok()) {
    return s;
  }
  ServableModel::Options servable;
  servable.config = config;
  servable.version = version;
  servable.labels = std::move(*labels);
  servable.clock = context.clock;
  servable.pools = context.pools;
  if (context.metrics != nullptr) {
    servable.metrics =
        context.metrics->ForVersion(config.name(), absl::StrCat(version));
  }
  return ServableModel::Create(std::move(servable), std::move(*model));
}

}  // namespace inferd
