#include "model_store/version_lifecycle.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "model_store/repository_paths.h"
#include "model_store/repository_scan.h"
#include "model_store/version_loading.h"

namespace inferd {

// Logs every state change and passes it on to the observer the options name.
class VersionLifecycle::Relay final : public VersionObserver {
 public:
  explicit Relay(VersionObserver* next) : next_(next) {}

  void OnVersionState(const std::string& model,
                      const VersionStatus& status) override {
    const std::string what =
        absl::StrCat("model ", model, " version ", status.version);
    switch (status.state) {
      case VersionState::kLoading:
        LogInfo(what, " LOADING");
        break;
      case VersionState::kReady:
        LogInfo(what, " is READY");
        break;
      case VersionState::kFailed:
        LogError(what, " FAILED: ", status.reason);
        break;
      case VersionState::kDraining:
        LogInfo(what, " UNLOADING (draining): ", status.reason);
        break;
      case VersionState::kUnloaded:
        LogInfo(what, " UNLOADED");
        break;
    }
    if (next_ != nullptr) next_->OnVersionState(model, status);
  }

 private:
  VersionObserver* const next_;
};

namespace {

// Hands a version's destruction to the unload thread when its last reference
// drops, wherever that is (a gRPC thread finishing a call, the load thread
// retiring it); then it is UNLOADED.
struct UnloadWhenUnused {
  std::shared_ptr<TaskRunner> unloader;
  std::shared_ptr<VersionObserver> relay;  // the record's observer
  std::shared_ptr<VersionRecord> record;

  void operator()(ServableModel* servable) const {
    unloader->Post([servable, record = record, relay = relay] {
      delete servable;  // joins its (idle) workers, frees the model
      // Only a retired version becomes UNLOADED; one that never served (a
      // load discarded) ends as it was.
      if (record->status().state == VersionState::kDraining) {
        record->MarkUnloaded().IgnoreError();
      }
    });
  }
};

}  // namespace

VersionLifecycle::VersionLifecycle(Options options)
    : options_(std::move(options)),
      relay_(std::make_shared<Relay>(options_.observer)),
      unloader_(std::make_shared<TaskRunner>()) {}

std::shared_ptr<VersionRecord> VersionLifecycle::Begin(const std::string& model,
                                                       int64_t version) {
  auto record = std::make_shared<VersionRecord>(model, version, relay_.get());
  relay_->OnVersionState(model, record->status());
  return record;
}

absl::StatusOr<VersionLifecycle::Loaded> VersionLifecycle::Load(
    const std::shared_ptr<VersionRecord>& record,
    const inference::ModelConfig& config, const FileSet& files) {
  const std::string& model = record->model();
  const int64_t version = record->version();
  VersionLoadContext context;
  context.loader = options_.loader;
  context.clock = options_.clock;
  context.metrics = options_.metrics;
  context.pools = options_.pools;
  const std::string model_dir = absl::StrCat(options_.root, "/", model);
  absl::StatusOr<std::unique_ptr<ServableModel>> loaded =
      LoadServable(context, config, model_dir, version);
  if (options_.metrics != nullptr) {
    options_.metrics->CountLoad(model, absl::StrCat(version), loaded.ok());
  }
  // A version withdrawn or rewritten while it loaded is not what was
  // planned: whatever came of the load is dropped.
  absl::StatusOr<FileSet> after =
      FilesUnder(absl::StrCat(model_dir, "/", version));
  std::string moved;
  if (!after.ok() || after->empty()) {
    moved = "withdrawn while it loaded: its directory is gone";
  } else if (*after != files) {
    moved =
        "its files changed while it loaded; it loads again once they are "
        "stable";
  }
  if (!moved.empty()) {
    record->MarkFailed(moved).IgnoreError();
    return absl::AbortedError(moved);
  }
  if (!loaded.ok()) {
    // Clients read the reason: paths relative to the repository.
    record->MarkFailed(WithoutRoot(loaded.status().message(), options_.root))
        .IgnoreError();
    return loaded.status();
  }
  std::shared_ptr<ServableModel> servable(
      loaded->release(), UnloadWhenUnused{unloader_, relay_, record});
  return Loaded{std::move(servable), record, files};
}

void VersionLifecycle::Activate(
    const std::vector<std::shared_ptr<VersionRecord>>& records) {
  for (const auto& record : records) {
    record->MarkReady().IgnoreError();
    if (options_.metrics != nullptr) {
      options_.metrics
          ->ForVersion(record->model(), absl::StrCat(record->version()))
          ->SetReady(true);
    }
  }
}

void VersionLifecycle::Retire(std::vector<Retiring> retiring) {
  for (Retiring& r : retiring) {
    r.record->MarkDraining(r.reason).IgnoreError();
    if (options_.metrics != nullptr && !r.still_served) {
      options_.metrics
          ->ForVersion(r.record->model(), absl::StrCat(r.record->version()))
          ->SetReady(false);
    }
    r.servable.reset();
  }
}

}  // namespace inferd
