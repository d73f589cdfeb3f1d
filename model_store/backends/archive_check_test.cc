#include "model_store/backends/archive_check.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <zip.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace inferd {
namespace {

using ::testing::HasSubstr;

// An entry of a test archive: its name, its bytes, and whether it is
// deflated (else stored, as PyTorch writes).
struct Entry {
  std::string name;
  std::string data;
  bool deflate;
};

class ArchiveCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Writes a zip archive of `entries` with libzip; returns its path.
  std::string WriteZip(const std::vector<Entry>& entries) {
    const std::string path = (dir_ / "model.pt").string();
    int error = 0;
    zip_t* archive = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &error);
    EXPECT_NE(archive, nullptr) << "libzip error " << error;
    for (const Entry& entry : entries) {
      zip_source_t* source =
          zip_source_buffer(archive, entry.data.data(), entry.data.size(), 0);
      const zip_int64_t index =
          zip_file_add(archive, entry.name.c_str(), source, ZIP_FL_OVERWRITE);
      EXPECT_GE(index, 0);
      zip_set_file_compression(archive, index,
                               entry.deflate ? ZIP_CM_DEFLATE : ZIP_CM_STORE,
                               entry.deflate ? 9 : 0);
    }
    EXPECT_EQ(zip_close(archive), 0);
    return path;
  }

  std::filesystem::path dir_;
};

TEST_F(ArchiveCheckTest, LimitIsFourTimesTheFilePlus64MiB) {
  EXPECT_EQ(MaxInflatedBytes(0), uint64_t{64} << 20);
  EXPECT_EQ(MaxInflatedBytes(1000), 4000 + (uint64_t{64} << 20));
}

TEST_F(ArchiveCheckTest, AcceptsStoredEntriesAsPyTorchWritesThem) {
  const std::string path =
      WriteZip({{"archive/data.pkl", std::string(1000, 'p'), false},
                {"archive/data/0", std::string(5 << 20, '\1'), false}});
  EXPECT_TRUE(CheckArchiveInflation(path).ok());
}

TEST_F(ArchiveCheckTest, AcceptsDeflatedEntriesUnderTheLimit) {
  const std::string path =
      WriteZip({{"archive/code/m.py", std::string(32 << 20, ' '), true}});
  EXPECT_TRUE(CheckArchiveInflation(path).ok());
}

TEST_F(ArchiveCheckTest, RefusesAnEntryThatInflatesPastTheLimit) {
  const std::string path =
      WriteZip({{"archive/data/0", std::string(80 << 20, '\0'), true}});
  const uint64_t size = std::filesystem::file_size(path);
  ASSERT_LT(size, 1 << 20);
  const absl::Status status = CheckArchiveInflation(path);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr(path));
  EXPECT_THAT(status.message(),
              HasSubstr("inflate to " + std::to_string(80 << 20) + " bytes"));
  EXPECT_THAT(
      status.message(),
      HasSubstr("over the limit of " + std::to_string(MaxInflatedBytes(size))));
  EXPECT_THAT(status.message(), HasSubstr("zip bomb"));
}

TEST_F(ArchiveCheckTest, RefusesManyEntriesWhoseSumPassesTheLimit) {
  std::vector<Entry> entries;
  for (int i = 0; i < 5; ++i) {
    entries.push_back({"archive/data/" + std::to_string(i),
                       std::string(16 << 20, 'z'), true});
  }
  const absl::Status status = CheckArchiveInflation(WriteZip(entries));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("5 zip entries inflate to " +
                                          std::to_string(80 << 20)));
}

TEST_F(ArchiveCheckTest, LeavesAFileThatIsNoArchiveToLibTorch) {
  const std::string path = (dir_ / "model.pt").string();
  std::ofstream(path) << "not a zip archive";
  EXPECT_TRUE(CheckArchiveInflation(path).ok());
  EXPECT_TRUE(CheckArchiveInflation((dir_ / "missing.pt").string()).ok());
}

}  // namespace
}  // namespace inferd
