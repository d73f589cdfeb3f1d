#ifndef INFERD_MODEL_STORE_MODEL_H_
#define INFERD_MODEL_STORE_MODEL_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/model_config.pb.h"

namespace inferd {

// A contiguous row-major tensor that does not depend on Torch. `data` stays
// valid while `owner` (or whoever lent the bytes) is alive.
struct Tensor {
  inference::DataType dtype = inference::TYPE_INVALID;
  std::vector<int64_t> shape;
  const char* data = nullptr;
  size_t byte_size = 0;
  std::shared_ptr<const void> owner;
};

// A loaded model version that executes whole batches. Implementations: the
// TorchScript model, and fakes in tests.
class Model {
 public:
  virtual ~Model() = default;

  // Runs one batch on execution instance `instance` (in [0, instances)).
  // `inputs` follow the config's input order, each [rows, dims...] (or just
  // dims for a model without a batch dimension). Returns the outputs in the
  // config's output order. Errors: Internal with the model's own message.
  // Thread-safe across distinct instances; one instance runs one batch at a
  // time.
  virtual absl::StatusOr<std::vector<Tensor>> Execute(
      int instance, const std::vector<Tensor>& inputs) = 0;

  // Number of execution instances; at most one batch runs on each at once.
  virtual int instance_count() const { return 1; }

  // The device instance `instance` runs on, as c10::Device::str() names it
  // ("cpu", "cuda:0"): its batches run on that device's worker pool.
  virtual std::string instance_device(int instance) const {
    (void)instance;
    return "cpu";
  }
};

// Creates Models from a version directory.
class ModelLoader {
 public:
  virtual ~ModelLoader() = default;

  // Loads the model in `version_dir` for `config`, with the execution
  // instances its instance_group asks for. Errors: InvalidArgument when the
  // model contradicts the config (naming the field), Internal/NotFound when the
  // file cannot be loaded.
  virtual absl::StatusOr<std::unique_ptr<Model>> Load(
      const inference::ModelConfig& config, const std::string& version_dir) = 0;
};

}  // namespace inferd

#endif  // INFERD_MODEL_STORE_MODEL_H_
