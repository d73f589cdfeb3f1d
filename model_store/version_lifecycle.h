#ifndef INFERD_MODEL_STORE_VERSION_LIFECYCLE_H_
#define INFERD_MODEL_STORE_VERSION_LIFECYCLE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "common/task_runner.h"
#include "metrics/metrics.h"
#include "model_store/model.h"
#include "model_store/servable_model.h"
#include "model_store/version_plan.h"
#include "model_store/version_record.h"
#include "proto/model_config.pb.h"

namespace inferd {

// Carries out the lifecycle of single model versions, whatever decided it:
// a load (a LOADING record, the loader, warm-up, gate, and the check that
// the version was not withdrawn or rewritten meanwhile), the move to READY,
// retirement (DRAINING), and the unload when the last reference to a retired
// version drops, wherever that happens: its destruction is handed to this
// object's unload thread, which marks it UNLOADED once it is freed. Logs
// every state change. Thread-safe.
class VersionLifecycle {
 public:
  struct Options {
    std::string root;                           // the model repository
    ModelLoader* loader = nullptr;              // must outlive this object
    Clock* clock = nullptr;                     // for the servables
    metrics::ServerMetrics* metrics = nullptr;  // null: none
    VersionObserver* observer = nullptr;        // null: only the log
    // Shared worker pools for the servables; null: one pool per version.
    batching::WorkerPools* pools = nullptr;
  };

  // One load of a version that may serve.
  struct Loaded {
    std::shared_ptr<ServableModel> servable;  // frees through the unloader
    std::shared_ptr<VersionRecord> record;
    FileSet files;  // what it was loaded from
  };

  // A serving version on its way out.
  struct Retiring {
    std::shared_ptr<ServableModel> servable;
    std::shared_ptr<VersionRecord> record;
    std::string reason;
    bool still_served = false;  // a newer load of the same version serves
  };

  explicit VersionLifecycle(Options options);
  // Versions still referenced elsewhere unload when let go of; the unload
  // thread lives until then.
  ~VersionLifecycle() = default;

  // A new LOADING record for `version` of `model` (observers are told).
  std::shared_ptr<VersionRecord> Begin(const std::string& model,
                                       int64_t version);

  // Loads the version `record` stands for from `files` (what the scan saw).
  // On failure `record` is FAILED with the reason and the error returned;
  // when the version was withdrawn or its files changed while it loaded,
  // the error is Aborted (the files are not the ones that failed). Blocks.
  absl::StatusOr<Loaded> Load(const std::shared_ptr<VersionRecord>& record,
                              const inference::ModelConfig& config,
                              const FileSet& files);

  // Marks newly published versions READY.
  void Activate(const std::vector<std::shared_ptr<VersionRecord>>& records);

  // Marks each DRAINING and lets go of it: it unloads once the requests that
  // hold it are answered.
  void Retire(std::vector<Retiring> retiring);

 private:
  class Relay;

  const Options options_;
  // The records' observer; shared with every servable's deleter, so it lives
  // as long as the records it observes.
  std::shared_ptr<Relay> relay_;
  // Destroys retired versions; shared with every servable's deleter.
  std::shared_ptr<TaskRunner> unloader_;
};

}  // namespace inferd

#endif  // INFERD_MODEL_STORE_VERSION_LIFECYCLE_H_
