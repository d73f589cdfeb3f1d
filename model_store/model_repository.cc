#include "model_store/model_repository.h"

#include <algorithm>
#include <filesystem>
#include <set>
#include <system_error>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/client_text.h"
#include "common/logging.h"
#include "model_store/model_config.h"
#include "model_store/repository_paths.h"
#include "model_store/repository_scan.h"
#include "model_store/version_loading.h"

namespace inferd {
namespace fs = std::filesystem;

namespace {

std::string Withdrawn(int64_t version) {
  return absl::StrCat("withdrawn: directory ", version, "/ is gone");
}

}  // namespace

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
  const Options& o = repository->options_;
  if (o.mode == ControlMode::kPoll && o.start_thread) {
    // The schedule starts now, not whenever the thread first runs.
    repository->poller_ =
        std::thread(&ModelRepository::PollLoop, repository.get(),
                    o.clock->Now() + o.poll_interval);
  }
  return repository;
}

ModelRepository::ModelRepository(Options options, ModelLoader* loader)
    : options_(std::move(options)),
      lifecycle_({options_.root, loader, options_.clock, options_.metrics,
                  options_.observer, options_.pools}) {}

ModelRepository::~ModelRepository() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (poller_.joinable()) poller_.join();
  std::vector<VersionLifecycle::Retiring> retiring;
  {
    absl::MutexLock lock(&mu_);
    for (auto& [name, entry] : models_) {
      for (auto& [version, served] : entry.serving) {
        retiring.push_back({std::move(served.servable), served.record,
                            "unloaded: the server is shutting down"});
      }
      entry.serving.clear();
    }
  }
  // Versions still held by a caller unload when it lets go.
  lifecycle_.Retire(std::move(retiring));
}

void ModelRepository::PollLoop(absl::Time next) {
  // A fixed schedule (first + k * interval), so a slow poll does not push
  // the next one back.
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      auto stop = [this]()
                      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; };
      options_.clock->AwaitWithDeadline(&mu_, absl::Condition(&stop), next);
      if (stopping_) return;
    }
    next = std::max(next + options_.poll_interval, options_.clock->Now());
    PollOnce();
  }
}

int ModelRepository::LoadAll() {
  int ready = 0;
  {
    absl::MutexLock load_lock(&load_mu_);
    absl::StatusOr<std::vector<std::string>> names =
        ListModelDirs(options_.root);
    if (!names.ok()) LogError("model repository: ", names.status().message());
    for (const std::string& name : names.value_or(std::vector<std::string>{})) {
      if (SyncModel(name, {/*require_stable=*/false, /*retry_failed=*/true})
              .ok()) {
        ++ready;
      }
    }
  }
  absl::MutexLock lock(&mu_);
  scanned_ = true;
  return ready;
}

absl::Status ModelRepository::LoadModel(
    const std::string& name, std::optional<inference::ModelConfig> config) {
  if (absl::Status s = ValidateModelName(name); !s.ok()) return s;
  absl::MutexLock load_lock(&load_mu_);
  return WithoutRoot(
      SyncModel(name, {/*require_stable=*/false, /*retry_failed=*/true,
                       config.has_value() ? &*config : nullptr}),
      options_.root);
}

void ModelRepository::PollOnce() {
  {
    absl::MutexLock load_lock(&load_mu_);
    absl::StatusOr<std::vector<std::string>> names =
        ListModelDirs(options_.root);
    if (!names.ok()) {
      // Not an instruction to unload everything: what is loaded serves on.
      const std::string fault = std::string(names.status().message());
      if (fault != fault_) {
        LogError("model repository ", fault,
                 "; every loaded version keeps serving from memory");
        fault_ = fault;
      }
      std::vector<std::string> loaded;
      {
        absl::MutexLock lock(&mu_);
        for (const auto& [name, entry] : models_) loaded.push_back(name);
      }
      for (const std::string& name : loaded) {
        NoteProblem(name, absl::StrCat("the model repository ", fault,
                                       "; serving the copy in memory"));
      }
    } else {
      if (!fault_.empty()) {
        LogInfo("model repository ", options_.root, " is readable again");
        fault_.clear();
      }
      for (const std::string& name : *names) {
        SyncModel(name, {/*require_stable=*/true, /*retry_failed=*/false})
            .IgnoreError();
      }
      std::vector<std::string> gone;
      {
        absl::MutexLock lock(&mu_);
        for (const auto& [name, entry] : models_) {
          if (!std::binary_search(names->begin(), names->end(), name)) {
            gone.push_back(name);
          }
        }
      }
      for (const std::string& name : gone) RemoveModel(name);
    }
  }
  if (options_.observer != nullptr) options_.observer->OnPollDone();
}

absl::Status ModelRepository::SyncModel(const std::string& name,
                                        SyncMode mode) {
  const std::string model_dir = absl::StrCat(options_.root, "/", name);
  // A directory that leads out of the repository (a symbolic link) is no
  // model: the same answer as for one that does not exist.
  absl::StatusOr<ModelDirScan> scan =
      DirectoryInside(model_dir, options_.root)
          ? ScanModelDir(model_dir)
          : absl::NotFoundError("outside the repository");
  if (absl::IsNotFound(scan.status())) {
    return absl::NotFoundError(absl::StrCat(
        "model \"", name, "\": no such model directory in the repository"));
  }
  if (!scan.ok()) {
    const std::string problem =
        WithoutRoot(scan.status().message(), options_.root);
    bool known = false;
    {
      absl::MutexLock lock(&mu_);
      auto it = models_.find(name);
      known = it != models_.end() && it->second.failure == problem;
      if (it != models_.end()) it->second.failure = problem;
    }
    if (!known) LogError("model ", name, ": ", problem);
    NoteProblem(name, absl::StrCat(problem, "; serving the copy in memory"));
    return scan.status();
  }
  // Poll mode trusts only what two consecutive scans agree on.
  const ModelDirScan previous = mode.require_stable ? last_scan_[name] : *scan;
  last_scan_[name] = *scan;
  {
    absl::MutexLock lock(&mu_);
    Entry& entry = models_[name];
    entry.wanted = true;
    // Versions whose files are as they were loaded have no problem (any
    // more).
    for (auto& [version, served] : entry.serving) {
      auto on_disk = scan->versions.find(version);
      if (on_disk != scan->versions.end() && on_disk->second == served.files) {
        served.record->SetProblem("").IgnoreError();
      }
    }
  }
  bool config_changed = false;
  absl::Status config = RefreshConfig(name, scan->top_level, previous.top_level,
                                      mode, &config_changed);
  if (!config.ok()) {
    NotifyChange();
    return config;
  }
  absl::Status result = LoadPlanned(name, scan->versions, previous.versions,
                                    mode, config_changed);
  NotifyChange();
  return result;
}

absl::Status ModelRepository::RefreshConfig(const std::string& name,
                                            const FileSet& now,
                                            const FileSet& before,
                                            SyncMode mode, bool* changed) {
  *changed = false;
  if (mode.config != nullptr) {
    absl::MutexLock lock(&mu_);
    Entry& entry = models_[name];
    *changed = entry.config != nullptr;
    entry.config = std::make_shared<const inference::ModelConfig>(*mode.config);
    entry.config_files = now;
    entry.config_given = true;
    entry.failed.clear();  // a new config deserves a new try
    entry.failure.clear();
    return absl::OkStatus();
  }
  {
    absl::MutexLock lock(&mu_);
    const Entry& entry = models_[name];
    if (entry.config != nullptr && entry.config_files == now &&
        !entry.config_given) {
      return absl::OkStatus();
    }
    if (entry.config == nullptr && !entry.failure.empty() &&
        entry.config_files == now) {
      // The same broken config as last time.
      return absl::InvalidArgumentError(entry.failure);
    }
  }
  if (mode.require_stable && now != before) return absl::OkStatus();  // wait
  const std::string path =
      absl::StrCat(options_.root, "/", name, "/config.pbtxt");
  absl::StatusOr<ParsedConfig> parsed = ReadModelConfig(path, name);
  if (!parsed.ok()) {
    if (options_.metrics != nullptr) {
      options_.metrics->CountLoad(name, "", false);
    }
    LogError("model ", name, " failed to load: ", parsed.status().message());
    absl::MutexLock lock(&mu_);
    Entry& entry = models_[name];
    entry.failure = WithoutRoot(parsed.status().message(), options_.root);
    entry.config_files = now;  // not parsed again until it changes
    return parsed.status();
  }
  for (const std::string& field : parsed->ignored_fields) {
    LogWarning("model ", name, ": config.pbtxt ", field,
               " (not implemented by inferd; ignored)");
  }
  absl::MutexLock lock(&mu_);
  Entry& entry = models_[name];
  *changed = entry.config != nullptr;
  entry.config =
      std::make_shared<const inference::ModelConfig>(std::move(parsed->config));
  entry.config_files = now;
  entry.config_given = false;
  entry.failed.clear();  // a new config deserves a new try
  entry.failure.clear();
  return absl::OkStatus();
}

absl::Status ModelRepository::LoadPlanned(
    const std::string& name, const std::map<int64_t, FileSet>& on_disk,
    const std::map<int64_t, FileSet>& previous, SyncMode mode,
    bool config_changed) {
  std::map<int64_t, Served> loaded;
  std::set<int64_t> excluded;
  absl::Status last_failure = absl::OkStatus();
  VersionPlan plan;
  std::shared_ptr<const inference::ModelConfig> config;
  while (true) {
    VersionPlanInput in;
    {
      absl::MutexLock lock(&mu_);
      const Entry& entry = models_[name];
      if (entry.config == nullptr) return absl::OkStatus();  // waiting
      config = entry.config;
      for (const auto& [version, served] : entry.serving) {
        in.serving[version] = served.files;
      }
      in.failed = entry.failed;
    }
    in.policy = config->version_policy();
    in.on_disk = on_disk;
    in.previous = previous;
    in.require_stable = mode.require_stable;
    in.retry_failed = mode.retry_failed;
    in.config_changed = config_changed;
    in.excluded = excluded;
    // What this sync loaded already counts as serving, as it is.
    for (const auto& [version, served] : loaded) {
      in.serving[version] = served.files;
      in.excluded.insert(version);
    }
    plan = PlanVersions(in);
    std::vector<int64_t> pending = plan.load;
    pending.insert(pending.end(), plan.reload.begin(), plan.reload.end());
    std::sort(pending.begin(), pending.end());
    if (pending.empty()) break;
    const int64_t version = pending.back();  // the newest first
    absl::StatusOr<Served> served =
        LoadOne(name, *config, version, on_disk.at(version));
    excluded.insert(version);
    if (!served.ok()) {
      last_failure = served.status();
      continue;
    }
    loaded[version] = std::move(*served);
  }
  std::vector<std::pair<int64_t, std::string>> retire;
  for (int64_t version : plan.retire) {
    retire.emplace_back(version,
                        on_disk.count(version)
                            ? "retired: the version_policy selects others"
                            : Withdrawn(version));
  }
  Publish(name, std::move(loaded), retire, last_failure);
  absl::MutexLock lock(&mu_);
  Entry& entry = models_[name];
  if (!entry.serving.empty()) return absl::OkStatus();
  absl::Status none =
      last_failure.ok()
          ? absl::NotFoundError(absl::StrCat(
                name,
                ": no version directory selected by the version_policy "
                "(e.g. 1/model.pt)"))
          : last_failure;
  entry.failure = WithoutRoot(none.message(), options_.root);
  return none;
}

absl::StatusOr<ModelRepository::Served> ModelRepository::LoadOne(
    const std::string& name, const inference::ModelConfig& config,
    int64_t version, const FileSet& files) {
  std::shared_ptr<VersionRecord> record = lifecycle_.Begin(name, version);
  {
    absl::MutexLock lock(&mu_);
    models_[name].latest[version] = record;
  }
  absl::StatusOr<Served> loaded = lifecycle_.Load(record, config, files);
  if (loaded.ok()) return loaded;
  absl::MutexLock lock(&mu_);
  Entry& entry = models_[name];
  // Files that changed under the load are not the ones that failed.
  if (!absl::IsAborted(loaded.status())) entry.failed[version] = files;
  auto serving = entry.serving.find(version);
  if (serving != entry.serving.end()) {
    // A reload that failed: the copy loaded before serves on, and the index
    // shows it, with the problem.
    serving->second.record
        ->SetProblem(absl::StrCat("its files changed and could not be loaded "
                                  "again (",
                                  loaded.status().message(),
                                  "); serving the copy loaded before"))
        .IgnoreError();
    entry.latest[version] = serving->second.record;
  }
  return loaded.status();
}

// clang-tidy 14 misses the moves out of `loaded` (through the structured
// binding below) and would have it taken by const reference.
void ModelRepository::Publish(
    const std::string& name,
    std::map<int64_t, Served>
        loaded,  // NOLINT(performance-unnecessary-value-param)
    const std::vector<std::pair<int64_t, std::string>>& retire,
    const absl::Status& last_failure) {
  std::vector<std::shared_ptr<VersionRecord>> ready;
  std::vector<VersionLifecycle::Retiring> retiring;
  {
    absl::MutexLock lock(&mu_);
    Entry& entry = models_[name];
    for (auto& [version, served] : loaded) {
      auto old = entry.serving.find(version);
      if (old != entry.serving.end()) {
        retiring.push_back({std::move(old->second.servable), old->second.record,
                            "replaced by a new load of the same version",
                            /*still_served=*/true});
      }
      ready.push_back(served.record);
      entry.latest[version] = served.record;
      entry.serving[version] = std::move(served);
    }
    for (const auto& [version, reason] : retire) {
      auto old = entry.serving.find(version);
      if (old == entry.serving.end()) continue;
      retiring.push_back(
          {std::move(old->second.servable), old->second.record, reason});
      entry.serving.erase(old);
    }
    entry.failure = std::string(last_failure.message());
  }
  // New versions serve from here on; the ones they replace take no new
  // requests from here on, finish theirs, and unload when the last is done.
  lifecycle_.Activate(ready);
  lifecycle_.Retire(std::move(retiring));
}

void ModelRepository::NoteProblem(const std::string& name,
                                  const std::string& problem) {
  absl::MutexLock lock(&mu_);
  auto entry = models_.find(name);
  if (entry == models_.end()) return;
  for (auto& [version, served] : entry->second.serving) {
    served.record->SetProblem(WithoutRoot(problem, options_.root))
        .IgnoreError();
  }
}

void ModelRepository::RemoveModel(const std::string& name) {
  std::vector<VersionLifecycle::Retiring> retiring;
  {
    absl::MutexLock lock(&mu_);
    auto entry = models_.find(name);
    if (entry == models_.end()) return;
    for (auto& [version, served] : entry->second.serving) {
      retiring.push_back({std::move(served.servable), served.record,
                          "withdrawn: the model's directory is gone"});
    }
    models_.erase(entry);
  }
  last_scan_.erase(name);
  lifecycle_.Retire(std::move(retiring));
  NotifyChange();
}

absl::Status ModelRepository::UnloadModel(const std::string& name) {
  absl::MutexLock load_lock(&load_mu_);
  std::vector<VersionLifecycle::Retiring> retiring;
  {
    absl::MutexLock lock(&mu_);
    auto entry = models_.find(name);
    if (entry == models_.end()) {
      return absl::NotFoundError(
          absl::StrCat("unknown model \"", ClientText(name), "\""));
    }
    for (auto& [version, served] : entry->second.serving) {
      retiring.push_back(
          {std::move(served.servable), served.record, "unloaded"});
    }
    entry->second.serving.clear();
    entry->second.wanted = false;
  }
  lifecycle_.Retire(std::move(retiring));
  NotifyChange();
  return absl::OkStatus();
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
    return absl::NotFoundError(
        absl::StrCat("unknown model \"", ClientText(name), "\""));
  }
  const Entry& entry = it->second;
  if (entry.serving.empty()) {
    return absl::UnavailableError(
        absl::StrCat("model \"", name, "\" has no ready version",
                     entry.failure.empty() ? "" : ": ", entry.failure));
  }
  if (wanted == -1) return entry.serving.rbegin()->second.servable;
  auto v = entry.serving.find(wanted);
  if (v == entry.serving.end()) {
    return absl::NotFoundError(
        absl::StrCat("model \"", name, "\" has no ready version ", version));
  }
  return v->second.servable;
}

bool ModelRepository::Contains(const std::string& name) const {
  absl::MutexLock lock(&mu_);
  return models_.count(name) > 0;
}

std::vector<ModelStatus> ModelRepository::List() const {
  absl::MutexLock lock(&mu_);
  std::vector<ModelStatus> result;
  for (const auto& [name, entry] : models_) {
    ModelStatus status;
    status.name = name;
    status.config = entry.config;
    status.failure = entry.failure;
    for (const auto& [version, served] : entry.serving) {
      status.ready_versions.push_back(version);
    }
    for (const auto& [version, record] : entry.latest) {
      status.versions.push_back(record->status());
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

bool ModelRepository::Started() const {
  absl::MutexLock lock(&mu_);
  return scanned_;
}

bool ModelRepository::AllReady() const {
  absl::MutexLock lock(&mu_);
  if (!scanned_) return false;
  for (const auto& [name, entry] : models_) {
    if (entry.wanted && entry.serving.empty()) return false;
  }
  return true;
}

}  // namespace inferd
