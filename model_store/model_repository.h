#ifndef INFERD_MODEL_STORE_MODEL_REPOSITORY_H_
#define INFERD_MODEL_STORE_MODEL_REPOSITORY_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "metrics/metrics.h"
#include "model_store/model.h"
#include "model_store/repository_scan.h"
#include "model_store/servable_model.h"
#include "model_store/version_lifecycle.h"
#include "model_store/version_plan.h"
#include "model_store/version_record.h"
#include "proto/model_config.pb.h"

namespace inferd {

// What the repository knows about one model directory.
struct ModelStatus {
  std::string name;
  // Set when config.pbtxt parsed and validated.
  std::shared_ptr<const inference::ModelConfig> config;
  std::vector<int64_t> ready_versions;  // ascending
  // Why the model, or its last load, could not be brought in line with its
  // directory (a bad config, no loadable version, an unreadable directory).
  std::string failure;
  // The newest record of every version tried, ascending.
  std::vector<VersionStatus> versions;
};

// How the set of served models changes (Triton's --model-control-mode).
enum class ControlMode {
  kNone,      // load everything at start-up; never change
  kPoll,      // also rescan the repository every poll interval
  kExplicit,  // only LoadModel()/UnloadModel() (the Repository* RPCs)
};

// Told of what the repository does, for tests and operators' tools: every
// version state change (VersionObserver) and every completed poll.
// Thread-safe implementations that do not block.
class RepositoryObserver : public VersionObserver {
 public:
  virtual void OnPollDone() {}
};

// The models of a Triton-layout repository directory: which versions serve
// (version_policy, decided by PlanVersions from what is on disk), loading,
// swapping and unloading them while requests keep flowing.
//
// Each load of a version is a VersionRecord, the one place its state lives.
// A version serves only once loaded, warmed up and past its validation gate;
// until then, and if it fails, whatever served before keeps serving. A
// retired version (DRAINING, "UNLOADING" on the wire) takes no new requests
// and finishes those it holds; when the last reference to it drops, wherever
// that happens, its destruction is handed to the repository's unload thread,
// and it is UNLOADED as soon as it is freed.
//
// Faults are reported, not obeyed: a repository that vanished or cannot be
// read, or a model directory that cannot be read, leaves everything serving;
// a serving version whose files were damaged or removed while its directory
// stays keeps serving from memory. Removing a version's directory withdraws
// it; removing a model's directory removes the model.
// Thread-safe.
class ModelRepository {
 public:
  struct Options {
    std::string root;        // the repository directory
    Clock* clock = nullptr;  // null: RealClock()
    // Load counts, readiness and per-version serving figures; null: none.
    // Must outlive the repository.
    metrics::ServerMetrics* metrics = nullptr;
    ControlMode mode = ControlMode::kNone;
    // Poll mode: time between rescans. A new or changed version loads only
    // once it looked the same on two consecutive scans.
    absl::Duration poll_interval = absl::Seconds(15);
    // Poll mode: a thread polls on the clock; false: only PollOnce() (tests
    // step it by hand).
    bool start_thread = true;
    // Told of every state change and poll; null: nobody. Must outlive the
    // repository and every version it loaded.
    RepositoryObserver* observer = nullptr;
    // Worker pools shared by every version (one per device); null: each
    // version runs on workers of its own. Must outlive the repository.
    batching::WorkerPools* pools = nullptr;
  };

  // `loader` must outlive the repository. InvalidArgument if `root` is not a
  // directory or the poll interval is not positive.
  static absl::StatusOr<std::unique_ptr<ModelRepository>> Create(
      Options options, ModelLoader* loader);
  // Retires every version; they unload as their requests finish.
  ~ModelRepository();

  // Loads every model found under the root. A model that fails is recorded
  // with its reason (see List()) and does not stop the others. Returns the
  // number of models now ready.
  int LoadAll();

  // Loads, or reloads, model `name`: the versions its policy selects among
  // those on disk, retrying versions that failed. Blocks while loading.
  // Errors: NotFound (no such directory), InvalidArgument (bad config, or
  // every selected version failed, with the reason), Unavailable (the
  // directory cannot be read); versions that serve keep serving on failure.
  // With `config` (validated; see ParseModelConfigJson) the model loads with
  // it instead of its config.pbtxt, until a load without one reads the file
  // again.
  absl::Status LoadModel(
      const std::string& name,
      std::optional<inference::ModelConfig> config = std::nullopt);

  // Retires every version of `name` (they drain, then unload). NotFound when
  // the repository never had that model.
  absl::Status UnloadModel(const std::string& name);

  // Poll mode's step: rescans the root, loads new and changed versions and
  // models, retires withdrawn ones. Runs on the background thread in poll
  // mode.
  void PollOnce();

  // The servable for `name` at `version` ("" or "-1": the highest ready one).
  // Errors: NotFound naming the model or version, InvalidArgument for a
  // malformed version, Unavailable if the model exists but has no ready
  // version (with the reason).
  absl::StatusOr<std::shared_ptr<ServableModel>> Get(
      const std::string& name, const std::string& version) const;

  // Whether a model of that name was found (loaded or not).
  bool Contains(const std::string& name) const;

  // Every model found, sorted by name.
  std::vector<ModelStatus> List() const;

  // Marks start-up loading as done (LoadAll() does it itself): from then on
  // AllReady() can be true.
  void MarkStarted();

  ControlMode mode() const { return options_.mode; }
  const std::string& root() const { return options_.root; }

  // Every model the repository is asked to serve has a ready version.
  bool AllReady() const;
  // The start-up load has finished (MarkStarted() or LoadAll()).
  bool Started() const;

  // Calls `callback` (null: nothing) after every change to what serves, on
  // the thread that made it, never with a repository lock held. Blocks until
  // a call already running returns, so the old callback may be destroyed
  // once this returns.
  void SetOnChange(std::function<void()> callback);

 private:
  // One published load of a version.
  using Served = VersionLifecycle::Loaded;
  struct Entry {
    std::shared_ptr<const inference::ModelConfig> config;
    FileSet config_files;       // the top-level files `config` was read from
    bool config_given = false;  // `config` came with a load, not a file
    std::string failure;
    std::map<int64_t, Served> serving;
    // The newest record of each version tried: what the index shows.
    std::map<int64_t, std::shared_ptr<VersionRecord>> latest;
    // Versions whose last load failed, with the files that failed.
    std::map<int64_t, FileSet> failed;
    bool wanted = false;  // asked to serve (counts for AllReady)
  };
  // How one sync of a model goes.
  struct SyncMode {
    bool require_stable = false;  // poll: trust only files seen twice
    bool retry_failed = false;    // explicit: retry versions that failed
    // A load's own config, used instead of config.pbtxt.
    const inference::ModelConfig* config = nullptr;
  };
  ModelRepository(Options options, ModelLoader* loader);

  // Brings model `name` in line with its directory.
  absl::Status SyncModel(const std::string& name, SyncMode mode)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(load_mu_);
  // Reads config.pbtxt when the top-level files changed (and, in poll mode,
  // are stable), or takes mode.config; sets *changed. Errors: the config's.
  absl::Status RefreshConfig(const std::string& name, const FileSet& now,
                             const FileSet& before, SyncMode mode,
                             bool* changed)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(load_mu_);
  // Loads what PlanVersions asks for, falling back as versions fail, and
  // publishes the result; returns the last load failure.
  absl::Status LoadPlanned(const std::string& name,
                           const std::map<int64_t, FileSet>& on_disk,
                           const std::map<int64_t, FileSet>& previous,
                           SyncMode mode, bool config_changed)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(load_mu_);
  // One load of `version`; on success the servable is ready to publish.
  absl::StatusOr<Served> LoadOne(const std::string& name,
                                 const inference::ModelConfig& config,
                                 int64_t version, const FileSet& files)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(load_mu_);
  // Installs `loaded`, retires what it replaces and the versions in
  // `retire` (with the reason each gets), and records `last_failure`.
  void Publish(const std::string& name, std::map<int64_t, Served> loaded,
               const std::vector<std::pair<int64_t, std::string>>& retire,
               const absl::Status& last_failure)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(load_mu_);
  // Notes `problem` (empty: none) on every serving version of `name`.
  void NoteProblem(const std::string& name, const std::string& problem)
      ABSL_LOCKS_EXCLUDED(mu_);
  // The model directory vanished (poll): retire everything, forget it.
  void RemoveModel(const std::string& name)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(load_mu_);

  // Polls at `first`, then every poll interval on the clock.
  void PollLoop(absl::Time first);

  void NotifyChange();

  const Options options_;
  // Loads, activates, retires and unloads single versions.
  VersionLifecycle lifecycle_;

  // Serialises loads (start-up, polls, RPCs); never held with mu_ waited on.
  absl::Mutex load_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  // The files each model directory had at the previous poll.
  std::map<std::string, ModelDirScan> last_scan_ ABSL_GUARDED_BY(load_mu_);
  // The last repository-wide fault reported (logged once per change).
  std::string fault_ ABSL_GUARDED_BY(load_mu_);

  mutable absl::Mutex mu_;
  std::map<std::string, Entry> models_ ABSL_GUARDED_BY(mu_);
  bool scanned_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;

  absl::Mutex callback_mu_ ABSL_ACQUIRED_AFTER(load_mu_);
  std::function<void()> on_change_ ABSL_GUARDED_BY(callback_mu_);

  std::thread poller_;
};

}  // namespace inferd

#endif  // INFERD_MODEL_STORE_MODEL_REPOSITORY_H_
