#ifndef INFERD_MODEL_STORE_SHAPE_H_
#define INFERD_MODEL_STORE_SHAPE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/types/span.h"

namespace inferd {

// The one home of shape arithmetic.

// Elements of a tensor of `shape`; nullopt when a dim is negative or the
// count does not fit in int64.
std::optional<int64_t> ElementCount(absl::Span<const int64_t> shape);

// Bytes of a tensor of `shape` with `element_size`-byte elements; nullopt as
// for ElementCount, or when the bytes do not fit in int64.
std::optional<int64_t> ByteCount(absl::Span<const int64_t> shape,
                                 size_t element_size);

// Elements of one row: all dims after the first when `batched`, else all.
// nullopt as for ElementCount.
std::optional<int64_t> RowElementCount(absl::Span<const int64_t> shape,
                                       bool batched);

// The shape of `rows` rows of a config's `dims` with every variable dim (-1)
// as 1: [rows, dims...] when `batched`, else just the dims. What warm-up
// allocates and what a config's byte limits count.
std::vector<int64_t> SmallestShape(absl::Span<const int64_t> dims, bool batched,
                                   int64_t rows);

// Bytes of SmallestShape(dims, batched, rows) with `element_size`-byte
// elements; nullopt when `rows` or a dim is negative (a dim of -1 counts as
// 1), or the bytes do not fit in int64 (the product is checked, it never
// wraps).
std::optional<int64_t> SmallestByteCount(absl::Span<const int64_t> dims,
                                         bool batched, int64_t rows,
                                         size_t element_size);

// "[2,5]", as messages print shapes.
std::string ShapeString(absl::Span<const int64_t> shape);

}  // namespace inferd

#endif  // INFERD_MODEL_STORE_SHAPE_H_
