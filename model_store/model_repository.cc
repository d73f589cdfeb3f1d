#include "model_store/model_repository.h"

#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "model_store/data_type.h"
#include "model_store/model_config.h"
#include "model_store/output_encoding.h"

namespace inferd {
namespace fs = std::filesystem;
namespace {

// Numeric subdirectories of `model_dir`, i.e. its versions, ascending.
std::vector<int64_t> ListVersions(const std::string& model_dir) {
  std::vector<int64_t> versions;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(model_dir, ec)) {
    int64_t version = 0;
    const std::string name = entry.path().filename().string();
    if (entry.is_directory(ec) && !name.empty() &&
        std::all_of(name.begin(), name.end(), absl::ascii_isdigit) &&
        absl::SimpleAtoi(name, &version) && version > 0) {
      versions.push_back(version);
    }
  }
  std::sort(versions.begin(), versions.end());
  return versions;
}

absl::StatusOr<std::vector<std::vector<std::string>>> LoadAllLabels(
    const inference::ModelConfig& config, const std::string& model_dir) {
  std::vector<std::vector<std::string>> labels(config.output_size());
  for (int i = 0; i < config.output_size(); ++i) {
    const std::string& file = config.output(i).label_filename();
    if (file.empty()) continue;
    absl::StatusOr<std::vector<std::string>> read =
        ReadLabels(absl::StrCat(model_dir, "/", file));
    if (!read.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "output[", i, "].label_filename: ", read.status().message()));
    }
    labels[i] = std::move(*read);
  }
  return labels;
}

}  // namespace

absl::Status WarmUp(const inference::ModelConfig& config, Model* model) {
  const bool batched = config.max_batch_size() > 0;
  std::vector<std::shared_ptr<std::string>> buffers;
  std::vector<Tensor> inputs;
  for (const auto& input : config.input()) {
    Tensor tensor;
    tensor.dtype = input.data_type();
    if (batched) tensor.shape.push_back(1);
    size_t elements = 1;
    for (int64_t dim : input.dims()) {
      tensor.shape.push_back(dim == -1 ? 1 : dim);
      elements *= tensor.shape.back();
    }
    auto bytes = std::make_shared<std::string>(
        elements * ElementSize(input.data_type()), '\0');
    tensor.data = bytes->data();
    tensor.byte_size = bytes->size();
    tensor.owner = bytes;
    inputs.push_back(std::move(tensor));
  }
  for (int instance = 0; instance < model->instance_count(); ++instance) {
    absl::StatusOr<std::vector<Tensor>> outputs =
        model->Execute(instance, inputs);
    if (!outputs.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "warm-up with zero inputs failed: ", outputs.status().message()));
    }
    if (static_cast<int>(outputs->size()) != config.output_size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("output: config declares ", config.output_size(),
                       " outputs, the model returned ", outputs->size()));
    }
    for (int i = 0; i < config.output_size(); ++i) {
      absl::Status s = CheckOutput(config.output(i), batched, 1, (*outputs)[i]);
      if (!s.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("output[", i, "]: ", s.message()));
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<ModelRepository>> ModelRepository::Create(
    Options options, ModelLoader* loader) {
  std::error_code ec;
  if (!fs::is_directory(options.root, ec)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--model-repository=", options.root, ": not a directory"));
  }
  if (options.clock == nullptr) options.clock = RealClock();
  return std::unique_ptr<ModelRepository>(
      new ModelRepository(std::move(options), loader));
}

ModelRepository::ModelRepository(Options options, ModelLoader* loader)
    : options_(std::move(options)), loader_(loader) {}

int ModelRepository::LoadAll() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(options_.root, ec)) {
    if (entry.is_directory(ec)) names.push_back(entry.path().filename());
  }
  std::sort(names.begin(), names.end());
  int ready = 0;
  for (const std::string& name : names) {
    if (LoadModel(name).ok()) ++ready;
  }
  absl::MutexLock lock(&mu_);
  scanned_ = true;
  return ready;
}

absl::StatusOr<std::unique_ptr<ServableModel>> ModelRepository::LoadVersion(
    const inference::ModelConfig& config, const std::string& model_dir,
    int64_t version) const {
  absl::StatusOr<std::vector<std::vector<std::string>>> labels =
      LoadAllLabels(config, model_dir);
  if (!labels.ok()) return labels.status();
  absl::StatusOr<std::unique_ptr<Model>> model =
      loader_->Load(config, absl::StrCat(model_dir, "/", version));
  if (!model.ok()) return model.status();
  if (absl::Status s = WarmUp(config, model->get()); !s.ok()) return s;
  ServableModel::Options servable;
  servable.config = config;
  servable.version = version;
  servable.labels = std::move(*labels);
  servable.clock = options_.clock;
  if (options_.metrics != nullptr) {
    servable.metrics =
        options_.metrics->ForVersion(config.name(), absl::StrCat(version));
  }
  return ServableModel::Create(std::move(servable), std::move(*model));
}

absl::Status ModelRepository::LoadEntry(const std::string& name,
                                        Entry* entry,
                                        int64_t* attempted) const {
  const std::string model_dir = absl::StrCat(options_.root, "/", name);
  absl::StatusOr<ParsedConfig> parsed =
      ReadModelConfig(absl::StrCat(model_dir, "/config.pbtxt"), name);
  if (!parsed.ok()) return parsed.status();
  for (const std::string& field : parsed->ignored_fields) {
    LogWarning("model ", name, ": config.pbtxt ", field,
               " (not implemented by inferd; ignored)");
  }
  entry->status.config =
      std::make_shared<const inference::ModelConfig>(parsed->config);
  const std::vector<int64_t> versions = ListVersions(model_dir);
  if (versions.empty()) {
    return absl::NotFoundError(
        absl::StrCat(model_dir, ": no version directory (e.g. 1/model.pt)"));
  }
  *attempted = versions.back();
  absl::StatusOr<std::unique_ptr<ServableModel>> servable =
      LoadVersion(parsed->config, model_dir, versions.back());
  if (!servable.ok()) return servable.status();
  entry->versions[versions.back()] = std::move(*servable);
  entry->status.ready_versions.push_back(versions.back());
  return absl::OkStatus();
}

absl::Status ModelRepository::LoadModel(const std::string& name) {
  Entry entry;
  entry.status.name = name;
  int64_t attempted = 0;
  const absl::Status result = LoadEntry(name, &entry, &attempted);
  const std::string version = attempted > 0 ? absl::StrCat(attempted) : "";
  if (options_.metrics != nullptr) {
    options_.metrics->CountLoad(name, version, result.ok());
  }
  if (result.ok()) {
    LogInfo("model ", name, " version ", version, " is READY");
  } else {
    entry.status.failure = std::string(result.message());
    LogError("model ", name, " failed to load: ", result.message());
  }
  Entry retired;  // destroyed after the lock is released: it drains
  {
    absl::MutexLock lock(&mu_);
    Entry& slot = models_[name];
    if (!result.ok() && !slot.versions.empty()) {
      // A failed reload leaves whatever was serving untouched.
      slot.status.failure = entry.status.failure;
      return result;
    }
    retired = std::move(slot);
    slot = std::move(entry);
    PublishReadinessLocked(name, retired, slot);
  }
  return result;
}

void ModelRepository::PublishReadinessLocked(const std::string& name,
                                             const Entry& before,
                                             const Entry& after) const {
  if (options_.metrics == nullptr) return;
  for (const auto& [version, servable] : before.versions) {
    if (after.versions.count(version) == 0) {
      options_.metrics->ForVersion(name, absl::StrCat(version))->SetReady(false);
    }
  }
  for (const auto& [version, servable] : after.versions) {
    options_.metrics->ForVersion(name, absl::StrCat(version))->SetReady(true);
  }
}

absl::StatusOr<std::shared_ptr<ServableModel>> ModelRepository::Get(
    const std::string& name, const std::string& version) const {
  int64_t wanted = -1;
  if (!version.empty() && !absl::SimpleAtoi(version, &wanted)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "model_version \"", version, "\": expected an integer or empty"));
  }
  absl::MutexLock lock(&mu_);
  auto it = models_.find(name);
  if (it == models_.end()) {
    return absl::NotFoundError(absl::StrCat("unknown model \"", name, "\""));
  }
  const Entry& entry = it->second;
  if (entry.versions.empty()) {
    return absl::UnavailableError(absl::StrCat(
        "model \"", name, "\" has no ready version: ", entry.status.failure));
  }
  if (wanted == -1) return entry.versions.rbegin()->second;
  auto v = entry.versions.find(wanted);
  if (v == entry.versions.end()) {
    return absl::NotFoundError(
        absl::StrCat("model \"", name, "\" has no ready version ", version));
  }
  return v->second;
}

bool ModelRepository::Contains(const std::string& name) const {
  absl::MutexLock lock(&mu_);
  return models_.count(name) > 0;
}

std::vector<ModelStatus> ModelRepository::List() const {
  absl::MutexLock lock(&mu_);
  std::vector<ModelStatus> result;
  for (const auto& [name, entry] : models_) result.push_back(entry.status);
  return result;
}

bool ModelRepository::AllReady() const {
  absl::MutexLock lock(&mu_);
  if (!scanned_) return false;
  for (const auto& [name, entry] : models_) {
    if (entry.versions.empty()) return false;
  }
  return true;
}

}  // namespace inferd
