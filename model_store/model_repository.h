#ifndef INFERD_MODEL_STORE_MODEL_REPOSITORY_H_
#define INFERD_MODEL_STORE_MODEL_REPOSITORY_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "metrics/metrics.h"
#include "model_store/model.h"
#include "model_store/servable_model.h"
#include "proto/model_config.pb.h"

namespace inferd {

// What the repository knows about one model directory.
struct ModelStatus {
  std::string name;
  // Set when config.pbtxt parsed and validated.
  std::shared_ptr<const inference::ModelConfig> config;
  std::vector<int64_t> ready_versions;  // ascending
  std::string failure;                  // why the model has no ready version
};

// The models of a Triton-layout repository directory (see DESIGN.md), each
// loaded at its highest-numbered version. Thread-safe.
class ModelRepository {
 public:
  struct Options {
    std::string root;        // the repository directory
    Clock* clock = nullptr;  // null: RealClock()
    // Load counts, readiness and per-version serving figures; null: none.
    // Must outlive the repository.
    metrics::ServerMetrics* metrics = nullptr;
  };

  // `loader` must outlive the repository. InvalidArgument if `root` is not a
  // directory.
  static absl::StatusOr<std::unique_ptr<ModelRepository>> Create(
      Options options, ModelLoader* loader);

  // Loads every model found under the root. A model that fails is recorded
  // with its reason (see List()) and does not stop the others. Returns the
  // number of models now ready.
  int LoadAll();

  // Loads (or reloads) one model from the root. Errors: NotFound (no such
  // directory), InvalidArgument (bad config or a model that contradicts it),
  // Internal.
  absl::Status LoadModel(const std::string& name);

  // The servable for `name` at `version` ("" or "-1": the highest ready one).
  // Errors: NotFound naming the model or version, InvalidArgument for a
  // malformed version, Unavailable if the model exists but failed to load.
  absl::StatusOr<std::shared_ptr<ServableModel>> Get(
      const std::string& name, const std::string& version) const;

  // Whether a model of that name was found (loaded or not).
  bool Contains(const std::string& name) const;

  // Every model found, sorted by name.
  std::vector<ModelStatus> List() const;

  // True once LoadAll() ran and every model found has a ready version.
  bool AllReady() const;

 private:
  struct Entry {
    ModelStatus status;
    std::map<int64_t, std::shared_ptr<ServableModel>> versions;
  };

  ModelRepository(Options options, ModelLoader* loader);

  // Reads the config of model `name`, loads its highest version into
  // `entry`; `attempted` gets that version (0 when none was found).
  absl::Status LoadEntry(const std::string& name, Entry* entry,
                         int64_t* attempted) const;

  // Sets inferd_model_ready for the versions `before` had and `after` has.
  void PublishReadinessLocked(const std::string& name, const Entry& before,
                              const Entry& after) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Loads `version_dir`, warms it up and wraps it in a ServableModel.
  absl::StatusOr<std::unique_ptr<ServableModel>> LoadVersion(
      const inference::ModelConfig& config, const std::string& model_dir,
      int64_t version) const;

  const Options options_;
  ModelLoader* const loader_;

  mutable absl::Mutex mu_;
  std::map<std::string, Entry> models_ ABSL_GUARDED_BY(mu_);
  bool scanned_ ABSL_GUARDED_BY(mu_) = false;
};

// Runs one batch of zeros (one row; variable dims as 1) through every
// instance of `model` and checks the outputs against the config.
// InvalidArgument naming the config field the model contradicts.
absl::Status WarmUp(const inference::ModelConfig& config, Model* model);

}  // namespace inferd

#endif  // INFERD_MODEL_STORE_MODEL_REPOSITORY_H_
