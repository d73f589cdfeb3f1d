#ifndef INFERD_MODEL_STORE_VERSION_LOADING_H_
#define INFERD_MODEL_STORE_VERSION_LOADING_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "metrics/metrics.h"
#include "model_store/model.h"
#include "model_store/servable_model.h"
#include "proto/model_config.pb.h"

namespace inferd {

// What loading one version needs besides its config and directory.
struct VersionLoadContext {
  ModelLoader* loader = nullptr;  // must outlive the call
  Clock* clock = nullptr;         // for the servable; must outlive it
  // Where the version's metrics go once it loaded (null: none); must
  // outlive the servable. A version that fails gets no metric series.
  metrics::ServerMetrics* metrics = nullptr;
  // The shared worker pools the servable runs on; null: a pool of its own.
  // Must outlive the servable.
  batching::WorkerPools* pools = nullptr;
};

// Loads version `version` of the model in `model_dir` with `config`: its
// labels, the model through the loader, a warm-up, and the validation gate;
// then the servable that will serve it. Blocks while loading. Errors: the
// first step that failed, naming what was wrong (never a backtrace).
absl::StatusOr<std::unique_ptr<ServableModel>> LoadServable(
    const VersionLoadContext& context, const inference::ModelConfig& config,
    const std::string& model_dir, int64_t version);

}  // namespace inferd

#endif  // INFERD_MODEL_STORE_VERSION_LOADING_H_
