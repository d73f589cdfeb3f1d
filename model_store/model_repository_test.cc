// ModelRepository's lifecycle with a fake loader and the poll thread off:
// the test calls PollOnce() itself, and waits for what happens on the
// repository's own unload thread through a RecordingObserver.

#include "model_store/model_repository.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>

#include "absl/synchronization/notification.h"
#include "common/clock.h"
#include "model_store/model_config.h"
#include "model_store/test_util.h"

namespace inferd {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Returns its FP32 input unchanged; the version directory's file "corrupt"
// makes loading fail, "throws" makes every execution fail, "blocks" makes
// every execution after the warm-up wait for `release`.
class FakeLoader : public ModelLoader {
 public:
  class Echo : public Model {
   public:
    Echo(bool throws, absl::Notification* gate)
        : throws_(throws), gate_(gate) {}
    absl::StatusOr<std::vector<Tensor>> Execute(
        int, const std::vector<Tensor>& inputs) override {
      batch_rows.push_back(inputs[0].shape[0]);
      if (gate_ != nullptr && batch_rows.size() > 1) {
        started.Notify();
        gate_->WaitForNotification();
      }
      if (throws_) return absl::InternalError("boom");
      auto copy =
          std::make_shared<std::string>(inputs[0].data, inputs[0].byte_size);
      Tensor out = inputs[0];
      out.data = copy->data();
      out.owner = copy;
      return std::vector<Tensor>{out};
    }

    std::vector<int64_t> batch_rows;  // every Execute, in order
    absl::Notification started;       // a blocking execution began

   private:
    const bool throws_;
    absl::Notification* const gate_;
  };

  absl::StatusOr<std::unique_ptr<Model>> Load(const inference::ModelConfig&,
                                              const std::string& dir) override {
    ++loads;
    if (during_load) during_load(dir);
    if (fs::exists(dir + "/corrupt")) {
      return absl::InvalidArgumentError("corrupt archive");
    }
    auto model = std::make_unique<Echo>(
        fs::exists(dir + "/throws"),
        fs::exists(dir + "/blocks") ? &release : nullptr);
    last = model.get();
    return model;
  }
  int loads = 0;
  Echo* last = nullptr;  // the model loaded last
  // Runs inside every load, with the version directory (e.g. to delete it).
  std::function<void(const std::string&)> during_load;
  absl::Notification release;  // lets blocking executions finish
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
    options.observer = &observer_;
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

  // Sends one 1-row request to `servable`; the answer lands in `answer`,
  // then `answered` (if given) is notified.
  static void Send(ServableModel& servable,
                   std::optional<absl::StatusOr<InferResponse>>* answer,
                   absl::Notification* answered = nullptr) {
    InferRequest request;
    auto bytes = std::make_shared<const std::string>(8, '\0');
    request.inputs.push_back({"x", "FP32", {1, 2}, *bytes, bytes});
    servable.Infer(std::move(request),
                   [answer, answered](absl::StatusOr<InferResponse> r) {
                     *answer = r;
                     if (answered != nullptr) answered->Notify();
                   });
  }

  std::string root_;
  // Declared before the repository a test makes, so it outlives it.
  testing::RecordingObserver observer_;
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
  // Nobody holds version 1: it unloads at once, on the unload thread.
  EXPECT_TRUE(observer_.AwaitState("a", 1, VersionState::kUnloaded));
  EXPECT_EQ(observer_.History("a", 1),
            (std::vector<VersionState>{
                VersionState::kLoading, VersionState::kReady,
                VersionState::kDraining, VersionState::kUnloaded}));
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
  // A request holder still has version 1: it drains, and stays.
  EXPECT_EQ(State(*repository, "a", 1).state, VersionState::kDraining);
  // The retired version still answers the requests that reached it.
  std::optional<absl::StatusOr<InferResponse>> answer;
  Send(*in_flight, &answer);
  in_flight.reset();  // the request holder lets go: version 1 is freed
  EXPECT_TRUE(observer_.AwaitState("a", 1, VersionState::kUnloaded));
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
  EXPECT_TRUE(observer_.AwaitState("a", 1, VersionState::kUnloaded));
  EXPECT_EQ(State(*repository, "a", 1).reason, "unloaded");
  EXPECT_TRUE(repository->AllReady());  // an unloaded model is not expected
  EXPECT_EQ(repository->LoadModel("missing").code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(repository->UnloadModel("missing").code(),
            absl::StatusCode::kNotFound);
}

// RepositoryModelLoad's "config": the model serves with the given config
// (its versions reload with it) until a load without one reads config.pbtxt
// again.
TEST_F(ModelRepositoryTest, ExplicitLoadWithAConfigUsesItUntilTheNextLoad) {
  WriteConfig("a");
  AddVersion("a", 1);
  AddVersion("a", 2);
  auto repository = Make(ControlMode::kExplicit);
  repository->MarkStarted();
  ASSERT_TRUE(repository->LoadModel("a").ok());
  EXPECT_EQ(Serving(*repository, "a"), 2);
  EXPECT_EQ((*repository->Get("a", ""))->config().max_batch_size(), 4);

  absl::StatusOr<inference::ModelConfig> given = ParseModelConfigJson(
      R"({"max_batch_size": 2,
          "input": [{"name": "x", "data_type": "TYPE_FP32", "dims": [2]}],
          "output": [{"name": "y", "data_type": "TYPE_FP32", "dims": [2]}],
          "version_policy": {"specific": {"versions": [1]}}})",
      "a");
  ASSERT_TRUE(given.ok()) << given.status();
  const int loads = loader_.loads;
  ASSERT_TRUE(repository->LoadModel("a", *given).ok());
  EXPECT_EQ(loader_.loads, loads + 1);
  EXPECT_EQ(Serving(*repository, "a"), 1);
  EXPECT_EQ((*repository->Get("a", ""))->config().max_batch_size(), 2);
  EXPECT_TRUE(observer_.AwaitState("a", 2, VersionState::kUnloaded));

  // The file's config again, though config.pbtxt did not change.
  ASSERT_TRUE(repository->LoadModel("a").ok());
  EXPECT_EQ(Serving(*repository, "a"), 2);
  EXPECT_EQ((*repository->Get("a", ""))->config().max_batch_size(), 4);
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
  options.observer = &observer_;
  auto repository = ModelRepository::Create(options, &loader_);
  ASSERT_TRUE(repository.ok());
  (*repository)->LoadAll();
  AddVersion("a", 2);
  clock.BlockUntilWaiters(1);  // the poller is parked until t + 10 s
  clock.Advance(absl::Seconds(9));
  EXPECT_FALSE(observer_.AwaitPolls(1, absl::ZeroDuration()));
  clock.Advance(absl::Seconds(1));
  ASSERT_TRUE(observer_.AwaitPolls(1));
  EXPECT_EQ(Serving(**repository, "a"), 1);  // seen once: not yet trusted
  clock.BlockUntilWaiters(1);
  clock.Advance(absl::Seconds(10));
  ASSERT_TRUE(observer_.AwaitPolls(2));
  EXPECT_EQ(Serving(**repository, "a"), 2);
}

TEST_F(ModelRepositoryTest, VersionWithdrawnWhileItLoadsIsNeverServed) {
  WriteConfig("a");
  AddVersion("a", 1);
  auto repository = Make(ControlMode::kPoll);
  repository->LoadAll();
  AddVersion("a", 2);
  repository->PollOnce();
  // The operator removes version 2 while the poller is loading it.
  loader_.during_load = [](const std::string& dir) { fs::remove_all(dir); };
  repository->PollOnce();
  loader_.during_load = nullptr;
  EXPECT_EQ(Serving(*repository, "a"), 1);
  const VersionStatus two = State(*repository, "a", 2);
  EXPECT_EQ(two.state, VersionState::kFailed);
  EXPECT_THAT(two.reason, HasSubstr("withdrawn while it loaded"));
  EXPECT_EQ(State(*repository, "a", 1).state, VersionState::kReady);
}

TEST_F(ModelRepositoryTest, VersionBeingDeletedServesUntilItsDirectoryIsGone) {
  // The swap test's race, deterministically: rm -rf of the serving version
  // 11 is under way when polls come. What is left of it is never loaded,
  // it keeps serving from memory, and once its directory is gone it drains
  // and unloads while version 10 takes over.
  WriteConfig("a");
  AddVersion("a", 10);
  AddVersion("a", 11);
  std::ofstream(root_ + "/a/11/labels.bin") << "half of what rm removes";
  auto repository = Make(ControlMode::kPoll);
  repository->LoadAll();
  EXPECT_EQ(Serving(*repository, "a"), 11);
  const int loads = loader_.loads;
  fs::remove(root_ + "/a/11/labels.bin");  // rm -rf: the first files go
  repository->PollOnce();
  repository->PollOnce();
  EXPECT_EQ(Serving(*repository, "a"), 11);
  EXPECT_EQ(loader_.loads, loads) << "loaded what is left of version 11";
  fs::remove_all(root_ + "/a/11");  // ... and then the directory
  repository->PollOnce();
  EXPECT_EQ(Serving(*repository, "a"), 10);
  EXPECT_TRUE(observer_.AwaitState("a", 11, VersionState::kUnloaded));
  EXPECT_EQ(observer_.History("a", 11).back(), VersionState::kUnloaded);
  EXPECT_EQ(State(*repository, "a", 11).state, VersionState::kUnloaded);
  EXPECT_EQ(State(*repository, "a", 10).state, VersionState::kReady);
}

TEST_F(ModelRepositoryTest, EmptiedVersionDirectoryIsWithdrawn) {
  WriteConfig("a");
  AddVersion("a", 1);
  AddVersion("a", 2);
  auto repository = Make(ControlMode::kPoll);
  repository->LoadAll();
  fs::remove(root_ + "/a/2/model.pt");  // the directory stays, empty
  repository->PollOnce();
  EXPECT_EQ(Serving(*repository, "a"), 1);
  EXPECT_THAT(State(*repository, "a", 2).reason, HasSubstr("withdrawn"));
}

TEST_F(ModelRepositoryTest, DamagedServingVersionKeepsServingAndSaysSo) {
  WriteConfig("a");
  AddVersion("a", 1);
  auto repository = Make(ControlMode::kPoll);
  repository->LoadAll();
  // Its files change into something that does not load.
  std::ofstream(root_ + "/a/1/corrupt") << "x";
  repository->PollOnce();
  repository->PollOnce();
  EXPECT_EQ(Serving(*repository, "a"), 1);  // from memory
  VersionStatus one = State(*repository, "a", 1);
  EXPECT_EQ(one.state, VersionState::kReady);
  EXPECT_THAT(one.reason, HasSubstr("could not be loaded again"));
  EXPECT_THAT(one.reason, HasSubstr("corrupt archive"));
  EXPECT_TRUE(repository->AllReady());
  // Not retried on every poll; repaired, the note goes.
  const int loads = loader_.loads;
  repository->PollOnce();
  EXPECT_EQ(loader_.loads, loads);
  fs::remove(root_ + "/a/1/corrupt");
  repository->PollOnce();
  EXPECT_EQ(State(*repository, "a", 1).reason, "");
}

TEST_F(ModelRepositoryTest, VanishedRepositoryIsAFaultNotAnUnload) {
  WriteConfig("a");
  AddVersion("a", 1);
  auto repository = Make(ControlMode::kPoll);
  repository->LoadAll();
  const std::string away = root_ + ".away";
  fs::remove_all(away);
  fs::rename(root_, away);  // rm -rf of the whole repository, or a lost mount
  repository->PollOnce();
  repository->PollOnce();
  EXPECT_EQ(Serving(*repository, "a"), 1);
  EXPECT_TRUE(repository->AllReady());  // what can answer, answers
  EXPECT_THAT(State(*repository, "a", 1).reason,
              HasSubstr("does not exist; serving the copy in memory"));
  fs::rename(away, root_);
  repository->PollOnce();
  EXPECT_EQ(State(*repository, "a", 1).reason, "");
  EXPECT_EQ(Serving(*repository, "a"), 1);
}

TEST_F(ModelRepositoryTest, UnreadableModelDirectoryIsAFault) {
  if (geteuid() == 0) GTEST_SKIP() << "root reads every directory";
  WriteConfig("a");
  AddVersion("a", 1);
  auto repository = Make(ControlMode::kPoll);
  repository->LoadAll();
  fs::permissions(root_ + "/a/1", fs::perms::none);
  repository->PollOnce();
  repository->PollOnce();
  fs::permissions(root_ + "/a/1", fs::perms::owner_all);
  EXPECT_EQ(Serving(*repository, "a"), 1);
  EXPECT_THAT(State(*repository, "a", 1).reason, HasSubstr("cannot be read"));
}

TEST_F(ModelRepositoryTest, SameVersionConfigEditLeavesTheVersionReady) {
  WriteConfig("a");
  AddVersion("a", 1);
  auto repository = Make(ControlMode::kPoll);
  repository->LoadAll();
  std::ofstream(root_ + "/a/config.pbtxt", std::ios::app)
      << "dynamic_batching { max_queue_delay_microseconds: 100 }\n";
  repository->PollOnce();
  repository->PollOnce();
  // The new load of version 1 serves; the one it replaced drains unseen.
  EXPECT_TRUE((*repository->Get("a", ""))->config().has_dynamic_batching());
  const VersionStatus one = State(*repository, "a", 1);
  EXPECT_EQ(one.state, VersionState::kReady);
  EXPECT_EQ(one.reason, "");
  EXPECT_THAT(repository->List()[0].ready_versions, ElementsAre(1));
}

TEST_F(ModelRepositoryTest, DrainingVersionUnloadsWhenItsLastRequestEnds) {
  WriteConfig("a");
  AddVersion("a", 1, "blocks");
  auto repository = Make(ControlMode::kPoll);
  repository->LoadAll();
  FakeLoader::Echo* one = loader_.last;
  // As a gRPC call does, the caller holds the version until it is answered.
  std::shared_ptr<ServableModel> held = *repository->Get("a", "");
  std::optional<absl::StatusOr<InferResponse>> answer;
  absl::Notification answered;
  Send(*held, &answer, &answered);
  one->started.WaitForNotification();
  AddVersion("a", 2);
  repository->PollOnce();
  repository->PollOnce();
  EXPECT_EQ(Serving(*repository, "a"), 2);
  // Retired, but a request is still running on it: UNLOADING on the wire.
  const VersionStatus draining = State(*repository, "a", 1);
  EXPECT_EQ(draining.state, VersionState::kDraining);
  EXPECT_STREQ(VersionStateName(draining.state), "UNLOADING");
  EXPECT_FALSE(observer_.AwaitState("a", 1, VersionState::kUnloaded,
                                    absl::ZeroDuration()));
  loader_.release.Notify();  // the request finishes ...
  answered.WaitForNotification();
  EXPECT_EQ(State(*repository, "a", 1).state, VersionState::kDraining);
  held.reset();  // ... and its caller lets go: unloaded then, no timer
  EXPECT_TRUE(observer_.AwaitState("a", 1, VersionState::kUnloaded));
  ASSERT_TRUE(answer.has_value());
  EXPECT_TRUE(answer->ok()) << answer->status();
  // Unloaded, it still says why it went.
  EXPECT_EQ(State(*repository, "a", 1).reason,
            "retired: the version_policy selects others");
}

}  // namespace
}  // namespace inferd
