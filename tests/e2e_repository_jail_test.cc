// The repository is a jail, replayed through a real server in explicit mode
// as an anonymous client would try it: names that are not one directory
// name, directories and files linked out of the repository, a
// label_filename that climbs out, and a huge name echoed back. Each is
// refused with a clear error, leaves no index entry, and the server keeps
// answering a normal client.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "model_store/test_util.h"
#include "tests/test_server.h"

namespace inferd::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

class RepositoryJailTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string good = TestModels("good");
    ASSERT_FALSE(good.empty()) << "INFERD_TEST_MODELS is not set";
    base_ = fs::path(::testing::TempDir()) /
            ("jail_e2e_" + std::to_string(::getpid()));
    fs::remove_all(base_);
    root_ = (base_ / "repo").string();
    fs::create_directories(root_);
    fs::create_directories(base_ / "outside");
    fs::copy(good + "/iris", root_ + "/iris", fs::copy_options::recursive);
    // A whole model outside the repository, and a link to it inside.
    fs::copy(good + "/iris", base_ / "outside/iris",
             fs::copy_options::recursive);
    Rename(base_ / "outside/iris", "iris", "escape");
    fs::create_directory_symlink(base_ / "outside/iris", root_ + "/escape");
    std::ofstream(base_ / "outside/secret") << "root:x:0:0\n";
    // A model whose labels climb out of it.
    fs::copy(good + "/iris", root_ + "/climber", fs::copy_options::recursive);
    Rename(root_ + "/climber", "iris", "climber");
    ReplaceInConfig(root_ + "/climber", "labels.txt", "../../outside/secret");
    // A model whose file is a link out of it.
    fs::copy(good + "/iris", root_ + "/linked", fs::copy_options::recursive);
    Rename(root_ + "/linked", "iris", "linked");
    fs::remove(root_ + "/linked/1/model.pt");
    fs::copy(good + "/iris/1/model.pt", base_ / "outside/model.pt");
    fs::create_symlink(base_ / "outside/model.pt",
                       root_ + "/linked/1/model.pt");
    server_ = TestServer::Start(root_, nullptr, ControlMode::kExplicit,
                                absl::Seconds(15));
    ASSERT_NE(server_, nullptr);
  }
  void TearDown() override {
    server_.reset();
    fs::remove_all(base_);
  }

  static void ReplaceInConfig(const fs::path& model, const std::string& from,
                              const std::string& to) {
    std::string text = ReadFileOrDie((model / "config.pbtxt").string());
    text.replace(text.find(from), from.size(), to);
    std::ofstream(model / "config.pbtxt") << text;
  }
  static void Rename(const fs::path& model, const std::string& from,
                     const std::string& to) {
    ReplaceInConfig(model, "name: \"" + from + "\"", "name: \"" + to + "\"");
  }

  grpc::Status Load(const std::string& name) {
    grpc::ClientContext context;
    inference::RepositoryModelLoadRequest request;
    request.set_model_name(name);
    inference::RepositoryModelLoadResponse response;
    return server_->stub().RepositoryModelLoad(&context, request, &response);
  }

  // name:version -> reason, for every index entry.
  std::map<std::string, std::string> Index() {
    grpc::ClientContext context;
    inference::RepositoryIndexResponse index;
    EXPECT_TRUE(server_->stub().RepositoryIndex(&context, {}, &index).ok());
    std::map<std::string, std::string> entries;
    for (const auto& m : index.models()) {
      entries[m.name() + ":" + m.version()] = m.reason();
    }
    return entries;
  }

  bool ServerReady() {
    grpc::ClientContext context;
    inference::ServerReadyResponse ready;
    EXPECT_TRUE(server_->stub().ServerReady(&context, {}, &ready).ok());
    return ready.ready();
  }

  // One flower through iris: the server still answers a normal client.
  grpc::Status InferIris() {
    grpc::ClientContext context;
    inference::ModelInferRequest request;
    request.set_model_name("iris");
    AddRawInput(&request, "features", "FP32", {1, 4},
                RawBytes(std::vector<float>{5.1f, 3.5f, 1.4f, 0.2f}));
    inference::ModelInferResponse response;
    return server_->stub().ModelInfer(&context, request, &response);
  }

  fs::path base_;
  std::string root_;
  std::unique_ptr<TestServer> server_;
};

TEST_F(RepositoryJailTest, NamesThatAreNotOneDirectoryNameAreRefused) {
  ASSERT_TRUE(Load("iris").ok());
  for (const std::string& name :
       {std::string("../outside/iris"), std::string("../../../etc"),
        std::string("."), std::string(".."), std::string("iris/./."),
        std::string("iris/../iris"), std::string("ir\0is", 5),
        std::string(".staging"), std::string(4096, 'n')}) {
    const grpc::Status status = Load(name);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << name.substr(0, 40);
    EXPECT_THAT(status.error_message(),
                HasSubstr("expected one directory name"));
    EXPECT_LT(status.error_message().size(), 400u);
  }
  // Nothing of it shows in the index, which lists the real model
  // directories only (never loaded ones without a version; the link out of
  // the repository not at all), and readiness is untouched.
  std::vector<std::string> names;
  for (const auto& [name, reason] : Index()) names.push_back(name);
  EXPECT_THAT(names, ::testing::ElementsAre("climber:", "iris:1", "linked:"));
  EXPECT_TRUE(ServerReady());
  EXPECT_TRUE(InferIris().ok());
}

TEST_F(RepositoryJailTest, ADirectoryLinkedOutIsAnsweredLikeAMissingOne) {
  const grpc::Status escape = Load("escape");
  const grpc::Status missing = Load("nosuchmodel");
  EXPECT_EQ(escape.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(escape.error_message(),
            "model \"escape\": no such model directory in the repository");
  EXPECT_EQ(missing.error_message(),
            "model \"nosuchmodel\": no such model directory in the "
            "repository");
  EXPECT_EQ(Index().count("escape:1"), 0u);
}

TEST_F(RepositoryJailTest, LabelsAndModelFilesMustStayInsideTheModel) {
  const grpc::Status climber = Load("climber");
  EXPECT_EQ(climber.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(climber.error_message(),
              HasSubstr("output[0].label_filename \"../../outside/secret\": "
                        "no such regular file inside the model directory"));
  const grpc::Status linked = Load("linked");
  EXPECT_FALSE(linked.ok());
  EXPECT_THAT(linked.error_message(),
              HasSubstr("model file \"model.pt\": no such regular file inside "
                        "the model directory"));
  // Reasons in the index name no host path.
  for (const auto& [entry, reason] : Index()) {
    EXPECT_THAT(reason, Not(HasSubstr(base_.string()))) << entry;
  }
  EXPECT_THAT(linked.error_message(), Not(HasSubstr(base_.string())));
  ASSERT_TRUE(Load("iris").ok());
  EXPECT_TRUE(InferIris().ok());
}

TEST_F(RepositoryJailTest, AHugeModelNameIsEchoedCut) {
  ASSERT_TRUE(Load("iris").ok());
  grpc::ClientContext context;
  inference::ModelInferRequest request;
  request.set_model_name(std::string(1 << 20, 'x'));
  AddRawInput(&request, "features", "FP32", {1, 4},
              RawBytes(std::vector<float>{5.1f, 3.5f, 1.4f, 0.2f}));
  inference::ModelInferResponse response;
  const grpc::Status status =
      server_->stub().ModelInfer(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_LT(status.error_message().size(), 400u);
  EXPECT_THAT(status.error_message(), HasSubstr("(1048576 bytes)"));
  EXPECT_TRUE(InferIris().ok());
}

}  // namespace
}  // namespace inferd::testing
