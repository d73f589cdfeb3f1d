#include "model_store/output_encoding.h"

#include <algorithm>
#include <cstring>
#include <numeric>

#include "absl/base/internal/endian.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "model_store/data_type.h"
#include "model_store/shape.h"

namespace inferd {
namespace {

template <typename T>
double Load(const char* p) {
  T value;
  std::memcpy(&value, p, sizeof(T));
  return static_cast<double>(value);
}

}  // namespace

double ElementAsDouble(const Tensor& t, int64_t i) {
  const char* p = t.data + i * ElementSize(t.dtype);
  switch (t.dtype) {
    case inference::TYPE_BOOL:
    case inference::TYPE_UINT8:
      return Load<uint8_t>(p);
    case inference::TYPE_UINT16:
      return Load<uint16_t>(p);
    case inference::TYPE_UINT32:
      return Load<uint32_t>(p);
    case inference::TYPE_UINT64:
      return Load<uint64_t>(p);
    case inference::TYPE_INT8:
      return Load<int8_t>(p);
    case inference::TYPE_INT16:
      return Load<int16_t>(p);
    case inference::TYPE_INT32:
      return Load<int32_t>(p);
    case inference::TYPE_INT64:
      return Load<int64_t>(p);
    case inference::TYPE_FP32:
      return Load<float>(p);
    case inference::TYPE_FP64:
      return Load<double>(p);
    default:
      return 0.0;  // FP16/BF16 scores are not classified (refused earlier)
  }
}

namespace {

// Elements per row of a model's output (its shape passed CheckOutput).
int64_t RowElements(const Tensor& output, bool batched) {
  return RowElementCount(output.shape, batched).value_or(0);
}

void AppendBytesElement(const std::string& value, std::string* out) {
  char length[4];
  absl::little_endian::Store32(length, static_cast<uint32_t>(value.size()));
  out->append(length, 4);
  out->append(value);
}

}  // namespace

absl::Status CheckOutput(const inference::ModelOutput& spec, bool batched,
                         int64_t rows, const Tensor& output) {
  const std::string prefix = absl::StrCat("output \"", spec.name(), "\": ");
  if (output.dtype != spec.data_type()) {
    return absl::InternalError(
        absl::StrCat(prefix, "config declares ", ConfigName(spec.data_type()),
                     " but the model returned ", ConfigName(output.dtype)));
  }
  std::vector<int64_t> expected;
  if (batched) expected.push_back(rows);
  expected.insert(expected.end(), spec.dims().begin(), spec.dims().end());
  bool matches = output.shape.size() == expected.size();
  for (size_t d = 0; matches && d < expected.size(); ++d) {
    matches = expected[d] == -1 || expected[d] == output.shape[d];
  }
  if (!matches) {
    return absl::InternalError(
        absl::StrCat(prefix, "config declares shape ", ShapeString(expected),
                     " but the model returned ", ShapeString(output.shape)));
  }
  return absl::OkStatus();
}

absl::Status CheckOutputs(const inference::ModelConfig& config,
                          const std::vector<Tensor>& outputs, int64_t rows) {
  if (static_cast<int>(outputs.size()) != config.output_size()) {
    return absl::InternalError(
        absl::StrCat("output: config declares ", config.output_size(),
                     " outputs, the model returned ", outputs.size()));
  }
  const bool batched = config.max_batch_size() > 0;
  for (int i = 0; i < config.output_size(); ++i) {
    absl::Status s = CheckOutput(config.output(i), batched, rows, outputs[i]);
    if (!s.ok()) {
      return absl::InternalError(
          absl::StrCat("output[", i, "]: ", s.message()));
    }
  }
  return absl::OkStatus();
}

OutputTensor SliceRows(const Tensor& output, bool batched, int64_t first,
                       int64_t count, const std::string& name) {
  OutputTensor result;
  result.name = name;
  result.datatype = WireName(output.dtype);
  result.shape = output.shape;
  if (batched) result.shape[0] = count;
  const size_t row_bytes = static_cast<size_t>(RowElements(output, batched)) *
                           ElementSize(output.dtype);
  const size_t offset = batched ? first * row_bytes : 0;
  result.data.assign(output.data + offset,
                     batched ? count * row_bytes : output.byte_size);
  return result;
}

OutputTensor ClassifyRows(const Tensor& output, bool batched, int64_t first,
                          int64_t count, int64_t k, const std::string& name,
                          const std::vector<std::string>& labels) {
  const int64_t per_row = RowElements(output, batched);
  k = std::min(k, per_row);
  OutputTensor result;
  result.name = name;
  result.datatype = "BYTES";
  result.shape =
      batched ? std::vector<int64_t>{count, k} : std::vector<int64_t>{k};
  std::vector<int64_t> order(per_row);
  std::vector<double> scores(per_row);
  for (int64_t row = first; row < first + count; ++row) {
    for (int64_t i = 0; i < per_row; ++i) {
      scores[i] = ElementAsDouble(output, row * per_row + i);
    }
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + k, order.end(),
                      [&scores](int64_t a, int64_t b) {
                        return scores[a] > scores[b] ||
                               (scores[a] == scores[b] && a < b);
                      });
    for (int64_t j = 0; j < k; ++j) {
      const int64_t index = order[j];
      const std::string label =
          index < static_cast<int64_t>(labels.size()) ? labels[index] : "";
      AppendBytesElement(absl::StrCat(scores[index], ":", index, ":", label),
                         &result.data);
    }
  }
  return result;
}

}  // namespace inferd
