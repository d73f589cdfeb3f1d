#ifndef INFERD_MODEL_STORE_BACKENDS_AOTI_PROBE_H_
#define INFERD_MODEL_STORE_BACKENDS_AOTI_PROBE_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "model_store/model.h"
#include "proto/model_config.pb.h"

namespace inferd {

// A model that pads batches below a minimum row count (see
// ProbeBatchDimension).
class AotiProbeTarget : public Model {
 public:
  // From now on, batches of fewer than `rows` rows are padded to `rows` and
  // the padding dropped from the outputs. REQUIRES: no batch is running.
  virtual void set_min_rows(int64_t rows) = 0;
};

// Finds out, by running it on instance 0 with zeros, whether a package
// answers every batch size the batcher can form (1 .. max_batch_size rows)
// with as many rows: it must take 1 row (or, if not, 2: then set_min_rows(2))
// and max_batch_size rows, and each output must have the rows it was given.
// Nothing to do when the config does not batch. Torch-free, so the decision
// is tested with fake models.
// Errors: InvalidArgument naming `file`, the batch size refused or answered
// wrongly, the package's own message, and how to export the batch dimension
// dynamic.
absl::Status ProbeBatchDimension(const inference::ModelConfig& config,
                                 const std::string& file,
                                 AotiProbeTarget* model);

}  // namespace inferd

#endif  // INFERD_MODEL_STORE_BACKENDS_AOTI_PROBE_H_
