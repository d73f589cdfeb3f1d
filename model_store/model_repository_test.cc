// ModelRepository's lifecycle with a fake loader and the background thread
// off: the test calls PollOnce() and Reap() itself.

#include "model_store/model_repository.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/clock.h"

namespace inferd {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Returns its FP32 input unchanged; the version directory's file "corrupt"
// makes loading fail, "throws" makes every execution fail.
class FakeLoader : public ModelLoader {
 public:
  class Echo : public Model {
   public:
    explicit Echo(bool throws) : throws_(throws) {}
    absl::StatusOr<std::vector<Tensor>> Execute(
        int, const std::vector<Tensor>& inputs) override {
      batch_rows.push_back(inputs[0].shape[0]);
      if (throws_) return absl::InternalError("boom");
      auto copy =
          std::make_shared<std::string>(inputs[0].data, inputs[0].byte_size);
      Tensor out = inputs[0];
      out.data = copy->data();
      out.owner = copy;
      return std::vector<Tensor>{out};
    }

    std::vector<int64_t> batch_rows;  // every Execute, in order

   private:
    const bool throws_;
  };

  absl::StatusOr<std::unique_ptr<Model>> Load(const inference::ModelConfig&,
                                              const std::string& dir) override {
    ++loads;
    if (fs::exists(dir + "/corrupt")) {
      return absl::InvalidArgumentError("corrupt archive");
    }
    auto model = std::make_unique<Echo>(fs::exists(dir + "/throws"));
    last = model.get();
    return model;
  }
  int loads = 0;
  Echo* last = nullptr;  // the model loaded last
};

constexpr char kConfig[] =
    "max_batch_size: 4\n"
    "input { name: \"x\" data_type: TYPE_FP32 dims: [ 2 ] }\n"
    "output { name: \"y\" data_type: TYPE_FP32 dims: [ 2 ] }\n";

class ModelRepositoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = ::testing::TempDir() + "/repo_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(root_);
    fs::create_directories(root_);
  }

  void WriteConfig(const std::string& model, const std::string& extra = "") {
    fs::create_directories(root_ + "/" + model);
    std::ofstream(root_ + "/" + model + "/config.pbtxt") << kConfig << extra;
  }
  void AddVersion(const std::string& model, int version,
                  const std::string& marker = "") {
    const std::string dir = root_ + "/" + model + "/" + std::to_string(version);
    fs::create_directories(dir);
    std::ofstream(dir + "/model.pt") << "weights " << version;
    if (!marker.empty()) std::ofstream(dir + "/" + marker) << "x";
  }

  std::unique_ptr<ModelRepository> Make(ControlMode mode) {
    ModelRepository::Options options;
    options.root = root_;
    options.mode = mode;
    options.start_thread = false;
    auto repository = ModelRepository::Create(options, &loader_);
    EXPECT_TRUE(repository.ok()) << repository.status();
    return std::move(*repository);
  }

  int64_t Serving(ModelRepository& repository, const std::string& model) {
    auto servable = repository.Get(model, "");
    return servable.ok() ? (*servable)->version() : -1;
  }

  VersionStatus State(ModelRepository& repository, const std::string& model,
                      int64_t version) {
    for (const ModelStatus& status : repository.List()) {
      if (status.name != model) continue;
      for (const VersionStatus& v : status.versions) {
        if (v.version == version) return v;
      }
    }
    return {version, VersionState::kUnloaded, "<unknown>"};
  }

  std::string root_;
  FakeLoader loader_;
};

TEST_F(ModelRepositoryTest, StartUpLoadsTheLatestVersionOfEachModel) {
  WriteConfig("a");
  AddVersion("a", 1);
  AddVersion("a", 3);
  auto repository = Make(ControlMode::kNone);
  EXPECT_EQ(repository->LoadAll(), 1);
  EXPECT_EQ(Serving(*repository, "a"), 3);
  EXPECT_EQ(State(*repository, "a", 3).state, VersionState::kReady);
  EXPECT_EQ(repository->Get("a", "1").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_TRUE(repository->AllReady());
}

TEST_F(ModelRepositoryTest, VersionPolicyAllServesEveryVersion) {
  WriteConfig("a", "version_policy { all {} }\n");
  AddVersion("a", 1);
  AddVersion("a", 2);
  auto repository = Make(ControlMode::kNone);
  repository->LoadAll();
  EXPECT_TRUE(repository->Get("a", "1").ok());
  EXPECT_TRUE(repository->Get("a", "2").ok());
  EXPECT_THAT(repository->List()[0].ready_versions, ElementsAre(1, 2));
}

TEST_F(ModelRepositoryTest, PollLoadsANewVersionOnlyOnceItsFilesAreStable) {
  WriteConfig("a");
  AddVersion("a", 1);
  auto repository = Make(ControlMode::kPoll);
  repository->LoadAll();
  AddVersion("a", 2);
  repository->PollOnce();  // first sight of 2: it may still be copying
  EXPECT_EQ(Serving(*repository, "a"), 1);
  repository->PollOnce();  // unchanged since: load, then swap
  EXPECT_EQ(Serving(*repository, "a"), 2);
  EXPECT_EQ(State(*repository, "a", 1).state, VersionState::kUnloaded);
}

TEST_F(ModelRepositoryTest, RetiredVersionIsFreedOnlyAfterItsLastRequest) {
  WriteConfig("a");
  AddVersion("a", 1);
  auto repository = Make(ControlMode::kPoll);
  repository->LoadAll();
  std::shared_ptr<ServableModel> in_flight = *repository->Get("a", "");
  AddVersion("a", 2);
  repository->PollOnce();
  repository->PollOnce();
  EXPECT_EQ(Serving(*repository, "a"), 2);
  EXPECT_EQ(repository->Reap(), 0);  // a request still holds version 1
  EXPECT_EQ(repository->retired_count(), 1u);
  // The retired version still answers the requests that reached it.
  InferRequest request;
  auto bytes = std::make_shared<const std::string>(8, '\0');
  request.inputs.push_back({"x", "FP32", {1, 2}, *bytes, bytes});
  std::optional<absl::StatusOr<InferResponse>> answer;
  in_flight->Infer(std::move(request),
                   [&](absl::StatusOr<InferResponse> r) { answer = r; });
  in_flight.reset();                 // the request holder lets go ...
  EXPECT_EQ(repository->Reap(), 1);  // ... and version 1 is freed
  ASSERT_TRUE(answer.has_value());
  EXPECT_TRUE(answer->ok()) << answer->status();
  EXPECT_EQ((*answer)->model_version, "1");
}

TEST_F(ModelRepositoryTest, FailedNewVersionIsFailedAndTheOldOneKeepsServing) {
  WriteConfig("a");
  AddVersion("a", 1);
  auto repository = Make(ControlMode::kPoll);
  repository->LoadAll();
  AddVersion("a", 2, "corrupt");
  repository->PollOnce();
  repository->PollOnce();
  EXPECT_EQ(Serving(*repository, "a"), 1);
  const VersionStatus failed = State(*repository, "a", 2);
  EXPECT_EQ(failed.state, VersionState::kFailed);
  EXPECT_THAT(failed.reason, HasSubstr("corrupt archive"));
  // A known-bad version is not retried on every poll.
  const int loads = loader_.loads;
  repository->PollOnce();
  EXPECT_EQ(loader_.loads, loads);
  // Fixed in place (files changed): it loads.
  fs::remove(root_ + "/a/2/corrupt");
  repository->PollOnce();
  repository->PollOnce();
  EXPECT_EQ(Serving(*repository, "a"), 2);
}

TEST_F(ModelRepositoryTest, VersionFailingWarmUpNeverTakesTraffic) {
  WriteConfig("a");
  AddVersion("a", 1);
  AddVersion("a", 2, "throws");
  auto repository = Make(ControlMode::kNone);
  repository->LoadAll();
  // Policy latest 1 falls back to the newest version that loads.
  EXPECT_EQ(Serving(*repository, "a"), 1);
  EXPECT_EQ(State(*repository, "a", 2).state, VersionState::kFailed);
  EXPECT_THAT(State(*repository, "a", 2).reason, HasSubstr("warm-up"));
}

TEST_F(ModelRepositoryTest, RemovedVersionAndModelAreUnloaded) {
  WriteConfig("a");
  AddVersion("a", 1);
  AddVersion("a", 2);
  WriteConfig("b");
  AddVersion("b", 1);
  auto repository = Make(ControlMode::kPoll);
  repository->LoadAll();
  fs::remove_all(root_ + "/a/2");
  repository->PollOnce();
  repository->PollOnce();
  EXPECT_EQ(Serving(*repository, "a"), 1);  // rolled back to 1
  fs::remove_all(root_ + "/b");
  repository->PollOnce();
  EXPECT_EQ(repository->Get("b", "").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_FALSE(repository->Contains("b"));
}

TEST_F(ModelRepositoryTest, ChangedConfigReloadsTheModel) {
  WriteConfig("a");
  AddVersion("a", 1);
  auto repository = Make(ControlMode::kPoll);
  repository->LoadAll();
  const int loads = loader_.loads;
  std::ofstream(root_ + "/a/config.pbtxt", std::ios::app)
      << "dynamic_batching { max_queue_delay_microseconds: 100 }\n";
  repository->PollOnce();
  repository->PollOnce();
  EXPECT_EQ(loader_.loads, loads + 1);
  EXPECT_TRUE((*repository->Get("a", ""))->config().has_dynamic_batching());
}

TEST_F(ModelRepositoryTest, BrokenConfigLeavesTheServingVersionAlone) {
  WriteConfig("a");
  AddVersion("a", 1);
  auto repository = Make(ControlMode::kPoll);
  repository->LoadAll();
  std::ofstream(root_ + "/a/config.pbtxt") << kConfig << "max_batch_size: -1\n";
  repository->PollOnce();
  repository->PollOnce();
  EXPECT_EQ(Serving(*repository, "a"), 1);
  EXPECT_THAT(repository->List()[0].failure, HasSubstr("max_batch_size"));
}

TEST_F(ModelRepositoryTest, ExplicitLoadAndUnload) {
  WriteConfig("a");
  AddVersion("a", 1);
  auto repository = Make(ControlMode::kExplicit);
  repository->MarkStarted();
  EXPECT_FALSE(repository->Contains("a"));
  EXPECT_TRUE(repository->LoadModel("a").ok());
  EXPECT_EQ(Serving(*repository, "a"), 1);
  EXPECT_TRUE(repository->UnloadModel("a").ok());
  EXPECT_EQ(repository->Get("a", "").status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(State(*repository, "a", 1).state, VersionState::kUnloaded);
  EXPECT_TRUE(repository->AllReady());  // an unloaded model is not expected
  EXPECT_EQ(repository->Reap(), 1);
  EXPECT_EQ(repository->LoadModel("missing").code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(repository->UnloadModel("missing").code(),
            absl::StatusCode::kNotFound);
}

TEST_F(ModelRepositoryTest, ModelWithNoVersionIsUnavailableWithTheReason) {
  WriteConfig("a");
  auto repository = Make(ControlMode::kNone);
  EXPECT_EQ(repository->LoadAll(), 0);
  auto got = repository->Get("a", "");
  EXPECT_EQ(got.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(got.status().message(), HasSubstr("no version directory"));
  EXPECT_FALSE(repository->AllReady());
}

TEST_F(ModelRepositoryTest, ModelWarmupRunsTheConfiguredBatches) {
  WriteConfig(
      "a",
      "model_warmup { name: \"w\" batch_size: 3 count: 2 inputs { key: "
      "\"x\" value: { data_type: TYPE_FP32 dims: [ 2 ] random_data: true "
      "} } }\n");
  AddVersion("a", 1);
  auto repository = Make(ControlMode::kNone);
  ASSERT_EQ(repository->LoadAll(), 1);
  EXPECT_THAT(loader_.last->batch_rows, ElementsAre(3, 3));
}

TEST_F(ModelRepositoryTest, ModelWarmupThatCannotRunFailsTheLoad) {
  WriteConfig(
      "a",
      "model_warmup { name: \"w\" inputs { key: \"x\" value: { "
      "data_type: TYPE_FP32 dims: [ 2 ] input_data_file: \"f\" } } }\n");
  AddVersion("a", 1);
  WriteConfig("b", "model_warmup { name: \"w\" batch_size: 9 }\n");
  AddVersion("b", 1);
  auto repository = Make(ControlMode::kNone);
  EXPECT_EQ(repository->LoadAll(), 0);
  EXPECT_THAT(State(*repository, "a", 1).reason,
              HasSubstr("input_data_file: not supported"));
  EXPECT_THAT(
      State(*repository, "b", 1).reason,
      HasSubstr("model_warmup[0].batch_size: 9 exceeds max_batch_size 4"));
}

TEST_F(ModelRepositoryTest, BackgroundThreadPollsOnTheClock) {
  WriteConfig("a");
  AddVersion("a", 1);
  SimulatedClock clock;
  ModelRepository::Options options;
  options.root = root_;
  options.mode = ControlMode::kPoll;
  options.poll_interval = absl::Seconds(10);
  options.clock = &clock;
  auto repository = ModelRepository::Create(options, &loader_);
  ASSERT_TRUE(repository.ok());
  (*repository)->LoadAll();
  AddVersion("a", 2);
  clock.BlockUntilWaiters(1);  // the poller is parked until t + 10 s
  clock.Advance(absl::Seconds(9));
  EXPECT_FALSE((*repository)->AwaitPolls(1, absl::ZeroDuration()));
  clock.Advance(absl::Seconds(1));
  ASSERT_TRUE((*repository)->AwaitPolls(1, absl::Seconds(60)));
  EXPECT_EQ(Serving(**repository, "a"), 1);  // seen once: not yet trusted
  clock.Advance(absl::Seconds(10));
  ASSERT_TRUE((*repository)->AwaitPolls(2, absl::Seconds(60)));
  EXPECT_EQ(Serving(**repository, "a"), 2);
}

}  // namespace
}  // namespace inferd
