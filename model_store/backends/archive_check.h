#ifndef INFERD_MODEL_STORE_BACKENDS_ARCHIVE_CHECK_H_
#define INFERD_MODEL_STORE_BACKENDS_ARCHIVE_CHECK_H_

// Refuses a zip bomb before LibTorch opens it. A TorchScript model.pt and an
// AOTInductor model.pt2 are zip archives; LibTorch's reader (miniz) allocates
// each entry's declared uncompressed size and inflates into it, so a 2 MB
// file of deflated zeros held 2.1 GB for as long as the model served.
// PyTorch writes its entries stored (uncompressed), so a real archive
// inflates to about its own size. Torch-free; thread-safe.

#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace inferd {

// The most bytes the entries of a zip archive of `file_bytes` bytes may
// declare in all: 4 × its size + 64 MiB (room for archives that do compress
// their code and pickles, none for a bomb).
uint64_t MaxInflatedBytes(uint64_t file_bytes);

// Reads the central directory of the zip archive at `path` with libzip and
// sums its entries' declared uncompressed sizes. Returns InvalidArgument
// naming `path`, the sum and the limit when the sum is over
// MaxInflatedBytes(file size). Inflates nothing. A file libzip cannot read
// as a zip archive is OK here: LibTorch's loader then refuses it in its own
// terms (it is no archive) or reads it (a dialect libzip does not; the sum
// is then unchecked).
absl::Status CheckArchiveInflation(const std::string& path);

}  // namespace inferd

#endif  // INFERD_MODEL_STORE_BACKENDS_ARCHIVE_CHECK_H_
