#include "model_store/repository_paths.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace inferd {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(ValidateModelNameTest, AcceptsOrdinaryNames) {
  for (const char* name : {"iris", "mlp_aoti", "resnet-50", "a.b", "x..y"}) {
    EXPECT_TRUE(ValidateModelName(name).ok()) << name;
  }
  EXPECT_TRUE(ValidateModelName(std::string(kMaxModelNameBytes, 'a')).ok());
}

TEST(ValidateModelNameTest, RefusesWhatIsNotOneDirectoryName) {
  const std::string with_nul("ir\0is", 5);
  for (const std::string& name :
       {std::string(""), std::string("."), std::string(".."),
        std::string("../outside/x"), std::string("iris/./."),
        std::string("/etc"), std::string(".hidden"), with_nul,
        std::string("a\nb"), std::string(kMaxModelNameBytes + 1, 'a')}) {
    const absl::Status status = ValidateModelName(name);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << name;
    EXPECT_THAT(status.message(), HasSubstr("expected one directory name"));
  }
  EXPECT_THAT(ValidateModelName("../x").message(), HasSubstr("contains '/'"));
  EXPECT_THAT(ValidateModelName(with_nul).message(),
              HasSubstr("control character"));
}

TEST(WithoutRootTest, NamesPathsRelativeToTheRepository) {
  EXPECT_EQ(WithoutRoot("/srv/models/iris/1/model.pt: corrupt", "/srv/models"),
            "iris/1/model.pt: corrupt");
  EXPECT_EQ(WithoutRoot("/srv/models/a and /srv/models/b", "/srv/models/"),
            "a and b");
  EXPECT_EQ(WithoutRoot(absl::InternalError("/r/x: bad"), "/r").message(),
            "x: bad");
  EXPECT_TRUE(WithoutRoot(absl::OkStatus(), "/r").ok());
}

class JailTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::path(::testing::TempDir()) /
            ("jail_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "repo/iris/1");
    fs::create_directories(root_ / "outside");
    std::ofstream(root_ / "repo/iris/labels.txt") << "a\n";
    std::ofstream(root_ / "repo/iris/1/model.pt") << "m";
    std::ofstream(root_ / "outside/secret") << "s";
  }
  void TearDown() override { fs::remove_all(root_); }
  std::string Model() const { return (root_ / "repo/iris").string(); }

  fs::path root_;
};

TEST_F(JailTest, FilesInsideResolve) {
  absl::StatusOr<std::string> labels =
      ResolveInside(Model(), "labels.txt", "label_filename");
  ASSERT_TRUE(labels.ok()) << labels.status();
  EXPECT_EQ(*labels, Model() + "/labels.txt");
  // A version's file may name the model directory's files via "..".
  EXPECT_TRUE(
      ResolveInside(Model() + "/1", "../labels.txt", "f", Model()).ok());
}

TEST_F(JailTest, MissingAndOutsideGetTheSameAnswer) {
  fs::create_symlink(root_ / "outside/secret", root_ / "repo/iris/link");
  const absl::StatusOr<std::string> missing =
      ResolveInside(Model(), "nothing.txt", "label_filename");
  ASSERT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  for (const char* path :
       {"../../outside/secret", "link", "/etc/passwd", "1", ""}) {
    const absl::StatusOr<std::string> got =
        ResolveInside(Model(), path, "label_filename");
    ASSERT_EQ(got.status().code(), absl::StatusCode::kNotFound) << path;
    EXPECT_THAT(got.status().message(),
                HasSubstr("no such regular file inside the model directory"));
    EXPECT_THAT(got.status().message(), Not(HasSubstr(root_.string())));
  }
  // Only the quoted name differs between the two answers.
  EXPECT_EQ(missing.status().message(),
            "label_filename \"nothing.txt\": no such regular file inside the "
            "model directory");
}

TEST_F(JailTest, DirectoriesLinkedOutOfTheRepositoryAreNotInside) {
  fs::create_directory_symlink(root_ / "outside", root_ / "repo/escape");
  fs::create_directory_symlink(root_ / "repo/iris", root_ / "repo/alias");
  const std::string repo = (root_ / "repo").string();
  EXPECT_TRUE(DirectoryInside(Model(), repo));
  EXPECT_TRUE(DirectoryInside(repo + "/alias", repo));
  EXPECT_FALSE(DirectoryInside(repo + "/escape", repo));
  EXPECT_FALSE(DirectoryInside(repo + "/../outside", repo));
  EXPECT_FALSE(DirectoryInside(repo + "/missing", repo));
}

}  // namespace
}  // namespace inferd
