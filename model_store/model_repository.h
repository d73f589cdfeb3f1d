#ifndef INFERD_MODEL_STORE_MODEL_REPOSITORY_H_
#define INFERD_MODEL_STORE_MODEL_REPOSITORY_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
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
#include "model_store/servable_model.h"
#include "proto/model_config.pb.h"

namespace inferd {

// Lifecycle of one model version. Legal transitions:
//   LOADING -> READY | FAILED      (load, warm-up, validation gate)
//   READY   -> UNLOADED            (retired: it drains, then it is freed)
//   FAILED  -> LOADING             (its files changed, or a load was asked)
//   UNLOADED -> LOADING
enum class VersionState { kLoading, kReady, kFailed, kUnloaded };

// "LOADING", "READY", "UNAVAILABLE" (failed or unloaded), as Triton's
// RepositoryIndex reports them.
const char* VersionStateName(VersionState state);

struct VersionStatus {
  int64_t version = 0;
  VersionState state = VersionState::kLoading;
  std::string reason;  // why it failed or was unloaded
};

// What the repository knows about one model directory.
struct ModelStatus {
  std::string name;
  // Set when config.pbtxt parsed and validated.
  std::shared_ptr<const inference::ModelConfig> config;
  std::vector<int64_t> ready_versions;  // ascending
  std::string failure;                  // why the last load failed
  std::vector<VersionStatus> versions;  // every version tried, ascending
};

// How the set of served models changes (Triton's --model-control-mode).
enum class ControlMode {
  kNone,      // load everything at start-up; never change
  kPoll,      // also rescan the repository every poll interval
  kExplicit,  // only LoadModel()/UnloadModel() (the Repository* RPCs)
};

// The models of a Triton-layout repository directory (see DESIGN.md): which
// versions serve (version_policy), loading, swapping and unloading them
// while requests keep flowing. A version serves only once loaded, warmed up
// and past its validation gate; until then, and if it fails, whatever served
// before keeps serving. A retired version takes no new requests, finishes
// those it holds (shared_ptr), and is freed once the last is answered.
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
    // Poll mode: time between rescans. A new or changed version directory
    // loads only once it looked the same on two consecutive scans.
    absl::Duration poll_interval = absl::Seconds(15);
    // Retired versions are freed by a background thread; false: only by
    // Reap() (tests drive it by hand, with PollOnce()).
    bool start_thread = true;
  };

  // `loader` must outlive the repository. InvalidArgument if `root` is not a
  // directory.
  static absl::StatusOr<std::unique_ptr<ModelRepository>> Create(
      Options options, ModelLoader* loader);
  ~ModelRepository();

  // Loads every model found under the root. A model that fails is recorded
  // with its reason (see List()) and does not stop the others. Returns the
  // number of models now ready.
  int LoadAll();

  // Loads, or reloads, model `name`: the versions its policy selects among
  // those on disk. Blocks while loading. Errors: NotFound (no such
  // directory), InvalidArgument (bad config, or every selected version
  // failed, with the reason); versions that serve keep serving on failure.
  absl::Status LoadModel(const std::string& name);

  // Stops serving every version of `name` (they drain, then unload).
  // NotFound when the repository never had that model.
  absl::Status UnloadModel(const std::string& name);

  // Poll mode's step: rescans the root, loads new and changed versions and
  // models, unloads removed ones. Runs on the background thread in poll mode.
  void PollOnce();

  // Frees retired versions whose last request has been answered. Returns how
  // many were freed. Runs on the background thread.
  int Reap();

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

  // Every model the repository is asked to serve has a ready version.
  bool AllReady() const;

  // Blocks until version `version` of `name` is in `state` or `timeout`
  // passes (real time); returns whether it is.
  bool AwaitState(const std::string& name, int64_t version, VersionState state,
                  absl::Duration timeout) const;

  // Blocks until PollOnce() has completed `polls` times in all, or `timeout`
  // passes (real time); returns whether it has.
  bool AwaitPolls(uint64_t polls, absl::Duration timeout) const;

  // PollOnce() calls completed so far.
  uint64_t polls() const;

  // Calls `callback` (null: nothing) after every change to what serves, on
  // the thread that made it, never with a repository lock held. Blocks until
  // a call already running returns, so the old callback may be destroyed
  // once this returns.
  void SetOnChange(std::function<void()> callback);

  // Retired versions not yet freed.
  size_t retired_count() const;

  // Blocks until every retired version has been freed (by Reap(), e.g. on
  // the background thread) or `timeout` passes; returns whether it was.
  bool AwaitRetiredFreed(absl::Duration timeout) const;

 private:
  struct Entry {
    ModelStatus status;
    std::map<int64_t, std::shared_ptr<ServableModel>> serving;
    // Fingerprints of the files each version (serving or failed) was loaded
    // from, and of config.pbtxt and labels: a change means reload.
    std::map<int64_t, std::string> loaded_from;
    std::string config_fingerprint;
    std::map<int64_t, VersionStatus> states;
    bool wanted = false;  // asked to serve (counts for AllReady)
  };

  ModelRepository(Options options, ModelLoader* loader);

  // The files of a model directory now and at the previous poll, by
  // version (0: config.pbtxt and labels).
  struct Scan {
    std::map<int64_t, std::string> files;
    std::map<int64_t, std::string> previous;
    bool require_stable = false;
    // Whether `version` may be trusted: unchanged since the previous scan,
    // or stability not required.
    bool Stable(int64_t version) const;
  };

  // Brings model `name` in line with its directory. With `require_stable`,
  // a version whose files changed since the previous scan waits.
  absl::Status SyncModel(const std::string& name, bool require_stable)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(load_mu_);

  // Loads the versions the policy selects among those `scan` trusts into
  // update->serving (keeping unchanged ones); returns the last load failure.
  // REQUIRES: update->status.config is set.
  absl::Status LoadSelected(const std::string& name,
                            const std::string& model_dir, const Scan& scan,
                            bool config_changed, Entry* update)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(load_mu_);

  // Loads one version and records its state, fingerprint and load count.
  absl::StatusOr<std::shared_ptr<ServableModel>> LoadAndRecord(
      const std::string& name, const std::string& model_dir, int64_t version,
      const std::string& fingerprint, Entry* update)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(load_mu_);

  // Loads `version` of a model, warms it up, runs its validation gate.
  absl::StatusOr<std::unique_ptr<ServableModel>> LoadVersion(
      const inference::ModelConfig& config, const std::string& model_dir,
      int64_t version) const;

  void SetState(const std::string& name, int64_t version, VersionState state,
                const std::string& reason) ABSL_LOCKS_EXCLUDED(mu_);

  // Installs `serving` as the versions of `name`; what it replaces retires.
  // Then runs the on-change callback.
  void Publish(const std::string& name, Entry update) ABSL_LOCKS_EXCLUDED(mu_);
  void PublishQuietly(const std::string& name, Entry update)
      ABSL_LOCKS_EXCLUDED(mu_);
  // UnloadModel() without the on-change callback.
  absl::Status UnloadQuietly(const std::string& name) ABSL_LOCKS_EXCLUDED(mu_);

  // Polls (poll mode) and reaps at `first`, then every BackgroundPeriod().
  void BackgroundLoop(absl::Time first);
  absl::Duration BackgroundPeriod() const;

  const Options options_;
  ModelLoader* const loader_;

  // Serialises loads (start-up, polls, RPCs); never held with mu_ waited on.
  absl::Mutex load_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  // Fingerprints seen by the previous poll, per model.
  std::map<std::string, std::map<int64_t, std::string>> last_scan_
      ABSL_GUARDED_BY(load_mu_);

  mutable absl::Mutex mu_;
  std::map<std::string, Entry> models_ ABSL_GUARDED_BY(mu_);
  std::vector<std::shared_ptr<ServableModel>> retired_ ABSL_GUARDED_BY(mu_);
  bool scanned_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t polls_ ABSL_GUARDED_BY(mu_) = 0;  // PollOnce() calls completed

  // Runs the on-change callback.
  void NotifyChange();

  absl::Mutex callback_mu_ ABSL_ACQUIRED_AFTER(load_mu_);
  std::function<void()> on_change_ ABSL_GUARDED_BY(callback_mu_);

  std::thread background_;
};

}  // namespace inferd

#endif  // INFERD_MODEL_STORE_MODEL_REPOSITORY_H_
