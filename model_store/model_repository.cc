#include "model_store/model_repository.h"

#include <algorithm>
#include <filesystem>
#include <iterator>
#include <set>
#include <system_error>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "model_store/data_type.h"
#include "model_store/model_config.h"
#include "model_store/output_encoding.h"
#include "model_store/repository_scan.h"
#include "model_store/validation_gate.h"
#include "model_store/version_policy.h"
#include "model_store/warm_up.h"

namespace inferd {
namespace fs = std::filesystem;
namespace {

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

const char* VersionStateName(VersionState state) {
  switch (state) {
    case VersionState::kLoading:
      return "LOADING";
    case VersionState::kReady:
      return "READY";
    default:
      return "UNAVAILABLE";
  }
}

absl::StatusOr<std::unique_ptr<ModelRepository>> ModelRepository::Create(
    Options options, ModelLoader* loader) {
  std::error_code ec;
  if (!fs::is_directory(options.root, ec)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--model-repository=", options.root, ": not a directory"));
  }
  if (options.clock == nullptr) options.clock = RealClock();
  if (options.poll_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "--repository-poll-secs: expected a positive interval");
  }
  std::unique_ptr<ModelRepository> repository(
      new ModelRepository(std::move(options), loader));
  if (repository->options_.start_thread) {
    // The schedule starts now, not whenever the thread first runs.
    const absl::Time first =
        repository->options_.clock->Now() + repository->BackgroundPeriod();
    repository->background_ =
        std::thread(&ModelRepository::BackgroundLoop, repository.get(), first);
  }
  return repository;
}

ModelRepository::ModelRepository(Options options, ModelLoader* loader)
    : options_(std::move(options)), loader_(loader) {}

ModelRepository::~ModelRepository() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (background_.joinable()) background_.join();
}

absl::Duration ModelRepository::BackgroundPeriod() const {
  // Outside poll mode the loop only frees drained versions.
  return options_.mode == ControlMode::kPoll ? options_.poll_interval
                                             : absl::Milliseconds(500);
}

void ModelRepository::BackgroundLoop(absl::Time next) {
  // A fixed schedule (first + k * period), so a slow poll does not push the
  // next one back.
  const absl::Duration period = BackgroundPeriod();
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      auto stop = [this]()
                      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; };
      options_.clock->AwaitWithDeadline(&mu_, absl::Condition(&stop), next);
      if (stopping_) return;
    }
    next = std::max(next + period, options_.clock->Now());
    if (options_.mode == ControlMode::kPoll) PollOnce();
    Reap();
  }
}

int ModelRepository::LoadAll() {
  int ready = 0;
  {
    absl::MutexLock load_lock(&load_mu_);
    for (const std::string& name : ListModelDirs(options_.root)) {
      if (SyncModel(name, /*require_stable=*/false).ok()) ++ready;
    }
  }
  absl::MutexLock lock(&mu_);
  scanned_ = true;
  return ready;
}

absl::Status ModelRepository::LoadModel(const std::string& name) {
  absl::MutexLock load_lock(&load_mu_);
  return SyncModel(name, /*require_stable=*/false);
}

void ModelRepository::PollOnce() {
  absl::MutexLock load_lock(&load_mu_);
  const std::vector<std::string> on_disk = ListModelDirs(options_.root);
  for (const std::string& name : on_disk) {
    SyncModel(name, /*require_stable=*/true).IgnoreError();
  }
  std::vector<std::string> gone;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [name, entry] : models_) {
      if (!std::binary_search(on_disk.begin(), on_disk.end(), name)) {
        gone.push_back(name);
      }
    }
  }
  for (const std::string& name : gone) {
    UnloadModel(name).IgnoreError();
    last_scan_.erase(name);
    absl::MutexLock lock(&mu_);
    models_.erase(name);
  }
  absl::MutexLock lock(&mu_);
  ++polls_;
}

uint64_t ModelRepository::polls() const {
  absl::MutexLock lock(&mu_);
  return polls_;
}

bool ModelRepository::AwaitPolls(uint64_t polls, absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto done = [this, polls]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return polls_ >= polls;
  };
  return mu_.AwaitWithTimeout(absl::Condition(&done), timeout);
}

absl::Status ModelRepository::UnloadModel(const std::string& name) {
  absl::Status result = UnloadQuietly(name);
  if (result.ok()) NotifyChange();
  return result;
}

absl::Status ModelRepository::UnloadQuietly(const std::string& name) {
  absl::MutexLock lock(&mu_);
  auto it = models_.find(name);
  if (it == models_.end()) {
    return absl::NotFoundError(absl::StrCat("unknown model \"", name, "\""));
  }
  Entry& entry = it->second;
  for (auto& [version, servable] : entry.serving) {
    retired_.push_back(std::move(servable));
    entry.states[version] = {version, VersionState::kUnloaded, "unloaded"};
    if (options_.metrics != nullptr) {
      options_.metrics->ForVersion(name, absl::StrCat(version))
          ->SetReady(false);
    }
    LogInfo("model ", name, " version ", version, " unloading (draining)");
  }
  entry.serving.clear();
  entry.status.ready_versions.clear();
  entry.wanted = false;
  return absl::OkStatus();
}

int ModelRepository::Reap() {
  std::vector<std::shared_ptr<ServableModel>> drained;
  {
    absl::MutexLock lock(&mu_);
    auto still_used = [](const std::shared_ptr<ServableModel>& s) {
      return s.use_count() > 1;
    };
    auto split =
        std::stable_partition(retired_.begin(), retired_.end(), still_used);
    drained.assign(std::make_move_iterator(split),
                   std::make_move_iterator(retired_.end()));
    retired_.erase(split, retired_.end());
  }
  for (const auto& servable : drained) {
    LogInfo("model ", servable->config().name(), " version ",
            servable->version(), " UNLOADED");
  }
  // Destroying them joins their (idle) workers and frees the model.
  const int freed = static_cast<int>(drained.size());
  drained.clear();
  return freed;
}

void ModelRepository::SetState(const std::string& name, int64_t version,
                               VersionState state, const std::string& reason) {
  absl::MutexLock lock(&mu_);
  Entry& entry = models_[name];
  entry.status.name = name;
  entry.states[version] = {version, state, reason};
}

absl::StatusOr<std::unique_ptr<ServableModel>> ModelRepository::LoadVersion(
    const inference::ModelConfig& config, const std::string& model_dir,
    int64_t version) const {
  absl::StatusOr<std::vector<std::vector<std::string>>> labels =
      LoadAllLabels(config, model_dir);
  if (!labels.ok()) return labels.status();
  const std::string version_dir = absl::StrCat(model_dir, "/", version);
  absl::StatusOr<std::unique_ptr<Model>> model =
      loader_->Load(config, version_dir);
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
  servable.clock = options_.clock;
  if (options_.metrics != nullptr) {
    servable.metrics =
        options_.metrics->ForVersion(config.name(), absl::StrCat(version));
  }
  return ServableModel::Create(std::move(servable), std::move(*model));
}

bool ModelRepository::Scan::Stable(int64_t version) const {
  if (!require_stable) return true;
  auto before = previous.find(version);
  auto now = files.find(version);
  return before != previous.end() && now != files.end() &&
         before->second == now->second;
}

absl::Status ModelRepository::SyncModel(const std::string& name,
                                        bool require_stable) {
  const std::string model_dir = absl::StrCat(options_.root, "/", name);
  std::error_code ec;
  if (!fs::is_directory(model_dir, ec)) {
    return absl::NotFoundError(absl::StrCat("no model directory ", model_dir));
  }
  // Two scans in a row must agree before a changed file set is trusted: a
  // version still being copied in is not loaded half-written.
  Scan scan;
  scan.require_stable = require_stable;
  scan.files = ScanVersions(model_dir);
  scan.files[0] = TopLevelFingerprint(model_dir);  // config.pbtxt, labels
  scan.previous = std::move(last_scan_[name]);
  last_scan_[name] = scan.files;

  Entry update;
  {
    absl::MutexLock lock(&mu_);
    Entry& current = models_[name];
    current.status.name = name;
    current.wanted = true;
    update = current;
  }
  const bool config_changed = update.config_fingerprint != scan.files[0];
  if (config_changed && !scan.Stable(0)) return absl::OkStatus();  // wait
  update.config_fingerprint = scan.files[0];

  absl::StatusOr<ParsedConfig> parsed =
      ReadModelConfig(absl::StrCat(model_dir, "/config.pbtxt"), name);
  if (!parsed.ok()) {
    if (options_.metrics != nullptr) {
      options_.metrics->CountLoad(name, "", false);
    }
    LogError("model ", name, " failed to load: ", parsed.status().message());
    update.status.failure = std::string(parsed.status().message());
    Publish(name, std::move(update));
    return parsed.status();
  }
  for (const std::string& field : parsed->ignored_fields) {
    LogWarning("model ", name, ": config.pbtxt ", field,
               " (not implemented by inferd; ignored)");
  }
  update.status.config =
      std::make_shared<const inference::ModelConfig>(parsed->config);
  const absl::Status last_failure =
      LoadSelected(name, model_dir, scan, config_changed, &update);
  absl::Status result = absl::OkStatus();
  if (update.serving.empty()) {
    result = last_failure.ok() ? absl::NotFoundError(absl::StrCat(
                                     model_dir,
                                     ": no version directory selected by the "
                                     "version_policy (e.g. 1/model.pt)"))
                               : last_failure;
  }
  update.status.failure =
      std::string(result.ok() ? last_failure.message() : result.message());
  Publish(name, std::move(update));
  return result;
}

absl::Status ModelRepository::LoadSelected(const std::string& name,
                                           const std::string& model_dir,
                                           const Scan& scan,
                                           bool config_changed, Entry* update) {
  const inference::ModelConfig& config = *update->status.config;
  // Candidates: stable versions, minus those known to fail as they are
  // (polls leave a failed version alone; an explicit load retries it).
  std::vector<int64_t> candidates;
  std::set<int64_t> excluded;
  for (const auto& [v, fingerprint] : scan.files) {
    if (v == 0 || !scan.Stable(v)) continue;
    candidates.push_back(v);
    auto state = update->states.find(v);
    if (scan.require_stable && !config_changed &&
        state != update->states.end() &&
        state->second.state == VersionState::kFailed &&
        update->loaded_from[v] == fingerprint) {
      excluded.insert(v);
    }
  }
  std::map<int64_t, std::shared_ptr<ServableModel>> serving;
  absl::Status last_failure = absl::OkStatus();
  // The policy applies to the versions that load: a version that fails makes
  // room for the next one it would choose.
  for (bool retry = true; retry;) {
    retry = false;
    std::vector<int64_t> usable;
    for (int64_t v : candidates) {
      if (!excluded.count(v)) usable.push_back(v);
    }
    for (int64_t v : SelectVersions(config.version_policy(), usable)) {
      if (serving.count(v)) continue;
      auto old = update->serving.find(v);
      if (!config_changed && old != update->serving.end() &&
          update->loaded_from[v] == scan.files.at(v)) {
        serving[v] = old->second;  // unchanged: keep serving it
        continue;
      }
      absl::StatusOr<std::shared_ptr<ServableModel>> loaded =
          LoadAndRecord(name, model_dir, v, scan.files.at(v), update);
      if (!loaded.ok()) {
        last_failure = loaded.status();
        excluded.insert(v);
        retry = true;
        break;
      }
      serving[v] = std::move(*loaded);
    }
  }
  // Versions still being rewritten on disk keep serving as they were.
  for (const auto& [v, servable] : update->serving) {
    if (scan.files.count(v) && !scan.Stable(v) && !serving.count(v)) {
      serving[v] = servable;
    }
  }
  // Nothing new loaded: whatever was serving keeps serving.
  if (!serving.empty() || last_failure.ok()) {
    update->serving = std::move(serving);
  }
  return last_failure;
}

absl::StatusOr<std::shared_ptr<ServableModel>> ModelRepository::LoadAndRecord(
    const std::string& name, const std::string& model_dir, int64_t version,
    const std::string& fingerprint, Entry* update) {
  SetState(name, version, VersionState::kLoading, "");
  LogInfo("model ", name, " version ", version, " LOADING");
  absl::StatusOr<std::unique_ptr<ServableModel>> loaded =
      LoadVersion(*update->status.config, model_dir, version);
  update->loaded_from[version] = fingerprint;
  if (options_.metrics != nullptr) {
    options_.metrics->CountLoad(name, absl::StrCat(version), loaded.ok());
  }
  if (!loaded.ok()) {
    LogError("model ", name, " version ", version,
             " FAILED: ", loaded.status().message());
    update->states[version] = {version, VersionState::kFailed,
                               std::string(loaded.status().message())};
    SetState(name, version, VersionState::kFailed,
             update->states[version].reason);
    return loaded.status();
  }
  update->states[version] = {version, VersionState::kReady, ""};
  LogInfo("model ", name, " version ", version, " is READY");
  return std::shared_ptr<ServableModel>(std::move(*loaded));
}

void ModelRepository::Publish(const std::string& name, Entry update) {
  PublishQuietly(name, std::move(update));
  NotifyChange();
}

void ModelRepository::PublishQuietly(const std::string& name, Entry update) {
  absl::MutexLock lock(&mu_);
  Entry& slot = models_[name];
  for (auto& [version, servable] : slot.serving) {
    if (update.serving.count(version) && update.serving[version] == servable) {
      continue;
    }
    // Retired: no new requests reach it; it drains and Reap() frees it.
    retired_.push_back(servable);
    if (!update.states.count(version) ||
        update.states[version].state == VersionState::kReady) {
      update.states[version] = {version, VersionState::kUnloaded,
                                "retired: replaced or no longer selected"};
    }
    if (options_.metrics != nullptr && !update.serving.count(version)) {
      options_.metrics->ForVersion(name, absl::StrCat(version))
          ->SetReady(false);
    }
    LogInfo("model ", name, " version ", version, " retiring (draining)");
  }
  update.status.ready_versions.clear();
  for (const auto& [version, servable] : update.serving) {
    update.status.ready_versions.push_back(version);
    if (options_.metrics != nullptr) {
      options_.metrics->ForVersion(name, absl::StrCat(version))->SetReady(true);
    }
  }
  update.status.versions.clear();
  for (const auto& [version, state] : update.states) {
    update.status.versions.push_back(state);
  }
  update.wanted = true;
  slot = std::move(update);
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
  if (entry.serving.empty()) {
    return absl::UnavailableError(absl::StrCat(
        "model \"", name, "\" has no ready version",
        entry.status.failure.empty() ? "" : ": ", entry.status.failure));
  }
  if (wanted == -1) return entry.serving.rbegin()->second;
  auto v = entry.serving.find(wanted);
  if (v == entry.serving.end()) {
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
  for (const auto& [name, entry] : models_) {
    ModelStatus status = entry.status;
    status.versions.clear();
    for (const auto& [version, state] : entry.states) {
      status.versions.push_back(state);
    }
    result.push_back(std::move(status));
  }
  return result;
}

void ModelRepository::SetOnChange(std::function<void()> callback) {
  absl::MutexLock lock(&callback_mu_);
  on_change_ = std::move(callback);
}

void ModelRepository::NotifyChange() {
  absl::MutexLock lock(&callback_mu_);
  if (on_change_) on_change_();
}

void ModelRepository::MarkStarted() {
  absl::MutexLock lock(&mu_);
  scanned_ = true;
}

bool ModelRepository::AllReady() const {
  absl::MutexLock lock(&mu_);
  if (!scanned_) return false;
  for (const auto& [name, entry] : models_) {
    if (entry.wanted && entry.serving.empty()) return false;
  }
  return true;
}

bool ModelRepository::AwaitState(const std::string& name, int64_t version,
                                 VersionState state,
                                 absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto reached = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto model = models_.find(name);
    if (model == models_.end()) return false;
    auto v = model->second.states.find(version);
    return v != model->second.states.end() && v->second.state == state;
  };
  return mu_.AwaitWithTimeout(absl::Condition(&reached), timeout);
}

bool ModelRepository::AwaitRetiredFreed(absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto freed = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return retired_.empty();
  };
  return mu_.AwaitWithTimeout(absl::Condition(&freed), timeout);
}

size_t ModelRepository::retired_count() const {
  absl::MutexLock lock(&mu_);
  return retired_.size();
}

}  // namespace inferd
