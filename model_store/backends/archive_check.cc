#include "model_store/backends/archive_check.h"

#include <zip.h>

#include <filesystem>
#include <limits>
#include <memory>
#include <system_error>

#include "absl/strings/str_cat.h"

namespace inferd {
namespace {

struct ZipDiscard {
  void operator()(zip_t* archive) const { zip_discard(archive); }
};

}  // namespace

uint64_t MaxInflatedBytes(uint64_t file_bytes) {
  return 4 * file_bytes + (uint64_t{64} << 20);
}

absl::Status CheckArchiveInflation(const std::string& path) {
  std::error_code error;
  const uint64_t file_bytes = std::filesystem::file_size(path, error);
  if (error) return absl::OkStatus();  // LibTorch reports a missing file.
  int open_error = 0;
  std::unique_ptr<zip_t, ZipDiscard> archive(
      zip_open(path.c_str(), ZIP_RDONLY, &open_error));
  if (archive == nullptr) return absl::OkStatus();
  const zip_int64_t entries = zip_get_num_entries(archive.get(), 0);
  uint64_t declared = 0;
  for (zip_int64_t i = 0; i < entries; ++i) {
    zip_stat_t stat;
    zip_stat_init(&stat);
    if (zip_stat_index(archive.get(), i, 0, &stat) != 0 ||
        (stat.valid & ZIP_STAT_SIZE) == 0) {
      continue;
    }
    // Declared sizes are any 64-bit value: saturate rather than wrap.
    declared = stat.size > std::numeric_limits<uint64_t>::max() - declared
                   ? std::numeric_limits<uint64_t>::max()
                   : declared + stat.size;
  }
  const uint64_t limit = MaxInflatedBytes(file_bytes);
  if (declared <= limit) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      path, ": its ", entries, " zip entries inflate to ", declared,
      " bytes, over the limit of ", limit, " (4 x its ", file_bytes,
      " bytes + 64 MiB); refused as a zip bomb before loading"));
}

}  // namespace inferd
