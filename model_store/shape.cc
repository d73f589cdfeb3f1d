#include "model_store/shape.h"

#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace inferd {

std::optional<int64_t> ElementCount(absl::Span<const int64_t> shape) {
  int64_t count = 1;
  for (int64_t dim : shape) {
    if (dim < 0) return std::nullopt;
    if (dim > 0 && count > std::numeric_limits<int64_t>::max() / dim) {
      return std::nullopt;
    }
    count *= dim;
  }
  return count;
}

std::optional<int64_t> ByteCount(absl::Span<const int64_t> shape,
                                 size_t element_size) {
  std::optional<int64_t> count = ElementCount(shape);
  const auto size = static_cast<int64_t>(element_size);
  if (!count ||
      (size > 0 && *count > std::numeric_limits<int64_t>::max() / size)) {
    return std::nullopt;
  }
  return *count * size;
}

std::optional<int64_t> RowElementCount(absl::Span<const int64_t> shape,
                                       bool batched) {
  return ElementCount(batched && !shape.empty() ? shape.subspan(1) : shape);
}

std::vector<int64_t> SmallestShape(absl::Span<const int64_t> dims, bool batched,
                                   int64_t rows) {
  std::vector<int64_t> shape;
  shape.reserve(dims.size() + 1);
  if (batched) shape.push_back(rows);
  for (int64_t dim : dims) shape.push_back(dim == -1 ? 1 : dim);
  return shape;
}

std::optional<int64_t> SmallestByteCount(absl::Span<const int64_t> dims,
                                         bool batched, int64_t rows,
                                         size_t element_size) {
  if (batched && rows < 0) return std::nullopt;
  return ByteCount(SmallestShape(dims, batched, rows), element_size);
}

std::string ShapeString(absl::Span<const int64_t> shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ","), "]");
}

}  // namespace inferd
