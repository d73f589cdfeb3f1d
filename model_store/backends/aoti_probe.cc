#include "model_store/backends/aoti_probe.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "model_store/warm_up.h"

namespace inferd {
namespace {

// Runs `rows` rows of zeros; errors carry the package's message or say which
// output came back with another number of rows.
absl::Status RunRows(const inference::ModelConfig& config,
                     AotiProbeTarget* model, int64_t rows) {
  absl::StatusOr<std::vector<Tensor>> inputs = ZeroInputs(config, rows);
  if (!inputs.ok()) return inputs.status();
  absl::StatusOr<std::vector<Tensor>> outputs = model->Execute(0, *inputs);
  if (!outputs.ok()) return outputs.status();
  for (size_t i = 0; i < outputs->size(); ++i) {
    const Tensor& output = (*outputs)[i];
    const int64_t got = output.shape.empty() ? 0 : output.shape[0];
    if (got != rows) {
      const std::string name = static_cast<int>(i) < config.output_size()
                                   ? config.output(i).name()
                                   : absl::StrCat(i);
      return absl::InvalidArgumentError(absl::StrCat(
          "given ", rows, " rows, it answered ", got, " rows of output \"",
          name, "\" (its batch dimension was exported static)"));
    }
  }
  return absl::OkStatus();
}

std::string HowToExport(const inference::ModelConfig& config) {
  const std::string input =
      config.input_size() > 0 ? config.input(0).name() : "x";
  return absl::StrCat(
      "; with max_batch_size > 0 every batch size up to max_batch_size must "
      "run: export dimension 0 of every input as dynamic, e.g. "
      "torch.export.export(model, args, dynamic_shapes={\"",
      input,
      "\": {0: torch.export.Dim(\"batch\")}}), lower max_batch_size "
      "to what the package takes, or set max_batch_size: 0");
}

}  // namespace

absl::Status ProbeBatchDimension(const inference::ModelConfig& config,
                                 const std::string& file,
                                 AotiProbeTarget* model) {
  const int64_t max_rows = config.max_batch_size();
  if (max_rows <= 0) return absl::OkStatus();
  int64_t min_rows = 1;
  if (absl::Status one = RunRows(config, model, 1); !one.ok()) {
    if (max_rows < 2 || !RunRows(config, model, 2).ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(file, " refuses a batch of 1 row: ", one.message(),
                       HowToExport(config)));
    }
    // torch.export specializes sizes 0 and 1, so a batch dimension exported
    // dynamic starts at 2, and the package's input checks refuse 1 row.
    min_rows = 2;
    model->set_min_rows(min_rows);
    LogInfo(file,
            ": its batch dimension starts at 2 rows (torch.export specializes "
            "sizes 0 and 1); batches of 1 row are padded to 2");
  }
  if (max_rows > min_rows) {
    if (absl::Status most = RunRows(config, model, max_rows); !most.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          file, " refuses a batch of ", max_rows,
          " rows (max_batch_size): ", most.message(), HowToExport(config)));
    }
  }
  return absl::OkStatus();
}

}  // namespace inferd
