#include "tools/bench_request.h"

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace inferd::bench {
namespace {

using TensorMetadata = inference::ModelMetadataResponse::TensorMetadata;

constexpr int64_t kMaxTensorBytes = int64_t{1} << 30;

enum class Fill { kReal, kSmallInt, kZero };

struct DatatypeInfo {
  int64_t element_size = 0;  // 0: unsupported
  Fill fill = Fill::kZero;
};

DatatypeInfo Describe(const std::string& datatype) {
  if (datatype == "FP32") {
    return {4, Fill::kReal};
  }
  if (datatype == "FP64") {
    return {8, Fill::kReal};
  }
  if (datatype == "FP16" || datatype == "BF16") {
    return {2, Fill::kZero};
  }
  if (datatype == "BOOL") {
    return {1, Fill::kZero};
  }
  if (datatype == "INT8" || datatype == "UINT8") {
    return {1, Fill::kSmallInt};
  }
  if (datatype == "INT16" || datatype == "UINT16") {
    return {2, Fill::kSmallInt};
  }
  if (datatype == "INT32" || datatype == "UINT32") {
    return {4, Fill::kSmallInt};
  }
  if (datatype == "INT64" || datatype == "UINT64") {
    return {8, Fill::kSmallInt};
  }
  return {};
}

// Appends `count` values of type T drawn from `draw`, little-endian (the
// machines we run on are little-endian, as the protocol requires).
template <typename T, typename Draw>
void AppendValues(int64_t count, Draw draw, std::string* out) {
  std::vector<T> values(static_cast<size_t>(count));
  for (T& value : values) {
    value = static_cast<T>(draw());
  }
  out->append(reinterpret_cast<const char*>(values.data()),
              values.size() * sizeof(T));
}

std::string RandomBytes(const DatatypeInfo& info, const std::string& datatype,
                        int64_t elements, std::mt19937* rng) {
  std::string out;
  if (info.fill == Fill::kZero) {
    out.assign(static_cast<size_t>(elements * info.element_size), '\0');
    return out;
  }
  if (info.fill == Fill::kReal) {
    std::uniform_real_distribution<double> real(-1.0, 1.0);
    auto draw = [&] { return real(*rng); };
    if (datatype == "FP32") {
      AppendValues<float>(elements, draw, &out);
    } else {
      AppendValues<double>(elements, draw, &out);
    }
    return out;
  }
  // Small non-negative integers fit every integer type and stay valid as
  // indices for embedding-style inputs.
  std::uniform_int_distribution<int> small(0, 9);
  auto draw = [&] { return small(*rng); };
  switch (info.element_size) {
    case 1:
      AppendValues<uint8_t>(elements, draw, &out);
      break;
    case 2:
      AppendValues<uint16_t>(elements, draw, &out);
      break;
    case 4:
      AppendValues<uint32_t>(elements, draw, &out);
      break;
    default:
      AppendValues<uint64_t>(elements, draw, &out);
  }
  return out;
}

// Resolves the -1 dimensions of `input` and counts its elements.
absl::StatusOr<std::vector<int64_t>> ResolveShape(const TensorMetadata& input,
                                                  int64_t rows,
                                                  int64_t element_size) {
  std::vector<int64_t> shape;
  int64_t bytes = element_size;
  for (int i = 0; i < input.shape_size(); ++i) {
    int64_t dim = input.shape(i);
    if (dim == -1) {
      dim = i == 0 ? rows : 1;
    }
    if (dim < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("input \"", input.name(), "\": dimension ", i, " is ",
                       dim, ", expected >= -1"));
    }
    shape.push_back(dim);
    if (dim > 0 && bytes > kMaxTensorBytes / dim) {
      return absl::InvalidArgumentError(absl::StrCat(
          "input \"", input.name(), "\": shape [", absl::StrJoin(shape, ","),
          "...] is over 1 GiB; lower --rows"));
    }
    bytes *= dim;
  }
  return shape;
}

int64_t Elements(const std::vector<int64_t>& shape) {
  int64_t elements = 1;
  for (int64_t dim : shape) {
    elements *= dim;
  }
  return elements;
}

}  // namespace

absl::StatusOr<BenchRequest> BuildBenchRequest(
    const inference::ModelMetadataResponse& metadata, int64_t rows,
    uint32_t seed) {
  BenchRequest bench{client::InferRequest(metadata.name())};
  std::mt19937 rng(seed);
  bool batched = false;
  for (const TensorMetadata& input : metadata.inputs()) {
    const DatatypeInfo info = Describe(input.datatype());
    if (info.element_size == 0) {
      return absl::UnimplementedError(
          absl::StrCat("input \"", input.name(), "\": datatype ",
                       input.datatype(), " is not supported by inferd-bench; ",
                       "expected a numeric type or BOOL"));
    }
    absl::StatusOr<std::vector<int64_t>> shape =
        ResolveShape(input, rows, info.element_size);
    if (!shape.ok()) {
      return shape.status();
    }
    batched |= input.shape_size() > 0 && input.shape(0) == -1;

    std::string raw =
        RandomBytes(info, input.datatype(), Elements(*shape), &rng);
    bench.request.AddInput(client::Tensor(input.name(), input.datatype(),
                                          *std::move(shape), std::move(raw)));
  }
  if (!bench.request.status().ok()) {
    return absl::InternalError(bench.request.status().error_message());
  }
  bench.rows_per_request = batched ? rows : 1;
  return bench;
}

}  // namespace inferd::bench
