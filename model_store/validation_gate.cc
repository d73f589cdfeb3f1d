#include "model_store/validation_gate.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/client_text.h"
#include "model_store/data_type.h"
#include "model_store/model_config.h"
#include "model_store/output_encoding.h"
#include "model_store/repository_paths.h"
#include "model_store/shape.h"

namespace inferd {
namespace {

// A file of rows of one tensor.
struct Rows {
  std::shared_ptr<std::string> bytes;
  size_t row_bytes = 0;
  int64_t rows = 0;
};

// Elements per row of a tensor with `dims` (-1 not allowed here).
absl::StatusOr<size_t> RowElements(
    const std::string& name,
    const google::protobuf::RepeatedField<int64_t>& dims) {
  for (int64_t dim : dims) {
    if (dim < 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "validation: tensor \"", name,
          "\" has variable dims; the validation gate needs fixed dims"));
    }
  }
  const std::optional<int64_t> elements = ElementCount(dims);
  if (!elements) {
    return absl::InvalidArgumentError(
        absl::StrCat("validation: tensor \"", name, "\": dims ",
                     ShapeString(dims), " have too many elements"));
  }
  return static_cast<size_t>(*elements);
}

absl::StatusOr<Rows> ReadRows(
    const std::string& dir, const std::string& name, inference::DataType type,
    const google::protobuf::RepeatedField<int64_t>& dims) {
  absl::StatusOr<size_t> elements = RowElements(name, dims);
  if (!elements.ok()) return elements.status();
  // A tensor name may hold "/" or ".."; the file must still be inside.
  absl::StatusOr<std::string> path =
      ResolveInside(dir, absl::StrCat(name, ".bin"), "validation file");
  if (!path.ok()) return path.status();
  absl::StatusOr<std::string> bytes = ReadFile(*path);
  if (!bytes.ok()) return bytes.status();
  Rows rows;
  rows.row_bytes = *elements * ElementSize(type);
  if (rows.row_bytes == 0 || bytes->empty() ||
      bytes->size() % rows.row_bytes != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "validation: ", name, ".bin has ", bytes->size(),
        " bytes, not a whole number of rows of ", rows.row_bytes, " bytes"));
  }
  rows.rows = static_cast<int64_t>(bytes->size() / rows.row_bytes);
  rows.bytes = std::make_shared<std::string>(std::move(*bytes));
  return rows;
}

Tensor Slice(const Rows& rows, inference::DataType type,
             const google::protobuf::RepeatedField<int64_t>& dims, bool batched,
             int64_t first, int64_t count) {
  Tensor t;
  t.dtype = type;
  if (batched) t.shape.push_back(count);
  t.shape.insert(t.shape.end(), dims.begin(), dims.end());
  t.data = rows.bytes->data() + first * rows.row_bytes;
  t.byte_size = count * rows.row_bytes;
  t.owner = rows.bytes;
  return t;
}

// The worst mismatch seen so far.
struct Worst {
  double excess = 0;  // |diff| - tolerance, > 0 for a mismatch
  int mismatches = 0;
  std::string where;
};

void Compare(const std::string& name, const Tensor& got, const Tensor& want,
             int64_t first_row, double atol, double rtol, Worst* worst) {
  const bool floating =
      got.dtype == inference::TYPE_FP32 || got.dtype == inference::TYPE_FP64;
  const int64_t n =
      static_cast<int64_t>(got.byte_size / ElementSize(got.dtype));
  const int64_t per_row =
      n / std::max<int64_t>(1, got.shape.empty() ? 1 : got.shape[0]);
  for (int64_t i = 0; i < n; ++i) {
    const double a = ElementAsDouble(got, i);
    const double b = ElementAsDouble(want, i);
    const double tolerance = floating ? atol + rtol * std::fabs(b) : 0;
    const double excess = std::fabs(a - b) - tolerance;
    if (!(excess <= 0)) {  // also catches NaN
      ++worst->mismatches;
      if (!(excess <= worst->excess)) {
        worst->excess = excess;
        worst->where =
            absl::StrCat("output \"", name, "\" row ", first_row + i / per_row,
                         " element ", i % per_row, ": got ", a, ", expected ",
                         b, " (tolerance ", tolerance, ")");
      }
    }
  }
}

}  // namespace

absl::Status RunValidationGate(const inference::ModelConfig& config,
                               Model* model, const std::string& version_dir) {
  const std::string dir = absl::StrCat(version_dir, "/",
                                       config.validation().directory().empty()
                                           ? "validation"
                                           : config.validation().directory());
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return absl::OkStatus();
  if (!DirectoryInside(dir, version_dir)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "validation.directory \"", ClientText(config.validation().directory()),
        "\": not a directory inside the version directory"));
  }
  const bool batched = config.max_batch_size() > 0;
  std::vector<Rows> inputs;
  for (const auto& input : config.input()) {
    absl::StatusOr<Rows> rows =
        ReadRows(dir, input.name(), input.data_type(), input.dims());
    if (!rows.ok()) return rows.status();
    if (!inputs.empty() && rows->rows != inputs.front().rows) {
      return absl::InvalidArgumentError(
          "validation: input files hold different numbers of rows");
    }
    inputs.push_back(std::move(*rows));
  }
  std::vector<std::optional<Rows>> expected;
  int checked = 0;
  for (const auto& output : config.output()) {
    absl::StatusOr<Rows> rows =
        ReadRows(dir, output.name(), output.data_type(), output.dims());
    expected.push_back(rows.ok() ? std::optional<Rows>(std::move(*rows))
                                 : std::nullopt);
    if (expected.back()) {
      ++checked;
      if (expected.back()->rows != inputs.front().rows) {
        return absl::InvalidArgumentError(absl::StrCat(
            "validation: ", output.name(), ".bin has ", expected.back()->rows,
            " rows, the inputs ", inputs.front().rows));
      }
    }
  }
  if (checked == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("validation: ", dir, " has no <output>.bin to compare"));
  }
  const int64_t total = inputs.front().rows;
  if (!batched && total != 1) {
    return absl::InvalidArgumentError(
        "validation: a model without a batch dimension takes one example");
  }
  const int64_t step = std::max(1, config.max_batch_size());
  const double atol = config.validation().absolute_tolerance() > 0
                          ? config.validation().absolute_tolerance()
                          : 1e-5;
  const double rtol = config.validation().relative_tolerance() > 0
                          ? config.validation().relative_tolerance()
                          : 1e-5;
  Worst worst;
  for (int64_t first = 0; first < total; first += step) {
    const int64_t count = std::min(step, total - first);
    std::vector<Tensor> batch;
    batch.reserve(config.input_size());
    for (int i = 0; i < config.input_size(); ++i) {
      batch.push_back(Slice(inputs[i], config.input(i).data_type(),
                            config.input(i).dims(), batched, first, count));
    }
    absl::StatusOr<std::vector<Tensor>> outputs = model->Execute(0, batch);
    if (!outputs.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("validation: the model failed on the examples: ",
                       outputs.status().message()));
    }
    if (absl::Status shape = CheckOutputs(config, *outputs, count);
        !shape.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("validation: ", shape.message()));
    }
    for (int o = 0; o < config.output_size(); ++o) {
      if (!expected[o]) continue;
      const auto& spec = config.output(o);
      Compare(spec.name(), (*outputs)[o],
              Slice(*expected[o], spec.data_type(), spec.dims(), batched, first,
                    count),
              first, atol, rtol, &worst);
    }
  }
  if (worst.mismatches > 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "validation failed: ", worst.mismatches,
        " values differ from what training produced; worst: ", worst.where));
  }
  return absl::OkStatus();
}

}  // namespace inferd
