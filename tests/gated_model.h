// A model whose execution a test holds at a gate (tests/e2e_priority_test.cc,
// tests/e2e_client_test.cc).

#ifndef INFERD_TESTS_GATED_MODEL_H_
#define INFERD_TESTS_GATED_MODEL_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "model_store/backends/torch_loader.h"
#include "model_store/model.h"

namespace inferd::testing {

// The real model, behind a gate: after Arm(), the next batch notifies
// `started` and waits for `release`. Records every batch's x values (the
// first input's first shape[0] floats: all of a one-column FP32 input) in the
// order the batches ran.
class GatedModel : public Model {
 public:
  explicit GatedModel(std::unique_ptr<Model> model)
      : model_(std::move(model)) {}

  absl::StatusOr<std::vector<Tensor>> Execute(
      int instance, const std::vector<Tensor>& inputs) override {
    bool gate = false;
    {
      absl::MutexLock lock(&mu_);
      gate = armed_;
      armed_ = false;
      const float* x = reinterpret_cast<const float*>(inputs[0].data);
      executed_.insert(executed_.end(), x, x + inputs[0].shape[0]);
    }
    if (gate) {
      started.Notify();
      release.WaitForNotification();
    }
    return model_->Execute(instance, inputs);
  }
  int instance_count() const override { return model_->instance_count(); }
  std::string instance_device(int instance) const override {
    return model_->instance_device(instance);
  }

  void Arm() {
    absl::MutexLock lock(&mu_);
    armed_ = true;
  }
  // Forgets the batches run so far (the warm-up at load).
  void Clear() {
    absl::MutexLock lock(&mu_);
    executed_.clear();
  }
  std::vector<float> executed() {
    absl::MutexLock lock(&mu_);
    return executed_;
  }

  absl::Notification started;
  absl::Notification release;

 private:
  const std::unique_ptr<Model> model_;
  absl::Mutex mu_;
  bool armed_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<float> executed_ ABSL_GUARDED_BY(mu_);
};

// Loads TorchScript models behind a gate; model_ is the last one loaded.
class GatedLoader : public ModelLoader {
 public:
  absl::StatusOr<std::unique_ptr<Model>> Load(
      const inference::ModelConfig& config,
      const std::string& version_dir) override {
    absl::StatusOr<std::unique_ptr<Model>> model =
        torch_.Load(config, version_dir);
    if (!model.ok()) return model.status();
    auto gated = std::make_unique<GatedModel>(std::move(*model));
    model_ = gated.get();
    return gated;
  }
  GatedModel* model_ = nullptr;

 private:
  TorchModelLoader torch_;
};

}  // namespace inferd::testing

#endif  // INFERD_TESTS_GATED_MODEL_H_
