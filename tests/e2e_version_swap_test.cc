// Versions published and retired under live traffic, through a real server in
// poll mode with real TorchScript models: no request fails, and every answer
// comes from a version that passed its load, warm-up and validation gate.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "model_store/backends/torch_loader.h"
#include "proto/health.grpc.pb.h"
#include "tests/test_server.h"

namespace inferd::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// Copies `from` to `root`/.staging and renames it into place: the safe way
// to publish (the poller never sees a half-written version).
void Publish(const std::string& from, const std::string& root,
             const std::string& to) {
  const std::string staging = root + "/.staging";
  fs::remove_all(staging);
  fs::copy(from, staging, fs::copy_options::recursive);
  fs::rename(staging, to);
}

// Continuously sends one-row iris requests from a few threads and records
// every outcome.
class Traffic {
 public:
  explicit Traffic(TestServer* server) {
    for (int i = 0; i < 4; ++i) {
      threads_.emplace_back([this, server, i] { Run(server, i); });
    }
  }
  ~Traffic() { Stop(); }

  void Stop() {
    stop_ = true;
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

  // Versions that answered, failures (with their first message), total.
  std::set<std::string> versions() {
    absl::MutexLock lock(&mu_);
    return versions_;
  }
  int failures() {
    absl::MutexLock lock(&mu_);
    return failures_;
  }
  std::string first_failure() {
    absl::MutexLock lock(&mu_);
    return first_failure_;
  }
  int answered() {
    absl::MutexLock lock(&mu_);
    return answered_;
  }

 private:
  void Run(TestServer* server, int seed) {
    const std::vector<float> row = {5.1f + seed * 0.1f, 3.5f, 1.4f, 0.2f};
    while (!stop_) {
      inference::ModelInferRequest request;
      request.set_model_name("iris");
      AddRawInput(&request, "features", "FP32", {1, 4}, RawBytes(row));
      inference::ModelInferResponse response;
      grpc::ClientContext context;
      grpc::Status status =
          server->stub().ModelInfer(&context, request, &response);
      absl::MutexLock lock(&mu_);
      ++answered_;
      if (status.ok()) {
        versions_.insert(response.model_version());
      } else if (failures_++ == 0) {
        first_failure_ =
            std::to_string(status.error_code()) + ": " + status.error_message();
      }
    }
  }

  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
  absl::Mutex mu_;
  std::set<std::string> versions_ ABSL_GUARDED_BY(mu_);
  int failures_ ABSL_GUARDED_BY(mu_) = 0;
  int answered_ ABSL_GUARDED_BY(mu_) = 0;
  std::string first_failure_ ABSL_GUARDED_BY(mu_);
};

TEST(VersionSwapTest, TenRolloutsUnderTrafficFailNoRequest) {
  if (TestModels("good").empty())
    GTEST_FAIL() << "INFERD_TEST_MODELS is not set";
  const std::string source = TestModels("good") + "/iris";
  const std::string root = ::testing::TempDir() + "/inferd_swap";
  fs::remove_all(root);
  fs::create_directories(root + "/iris");
  for (const char* file : {"config.pbtxt", "labels.txt"}) {
    fs::copy(source + "/" + file, root + "/iris/" + file);
  }
  fs::copy(source + "/1", root + "/iris/1", fs::copy_options::recursive);

  // The two bad versions: a corrupt archive, and a model whose outputs no
  // longer match what training produced (the validation gate must stop it).
  const std::string bad = ::testing::TempDir() + "/inferd_swap_sources";
  fs::remove_all(bad);
  fs::create_directories(bad);
  fs::copy(source + "/1", bad + "/corrupt", fs::copy_options::recursive);
  std::ofstream(bad + "/corrupt/model.pt", std::ios::trunc) << "not a model";
  fs::copy(source + "/1", bad + "/drifted", fs::copy_options::recursive);
  {
    std::fstream expected(bad + "/drifted/validation/probabilities.bin",
                          std::ios::in | std::ios::out | std::ios::binary);
    const float wrong = 0.5f;
    expected.seekp(4 * 7);
    expected.write(reinterpret_cast<const char*>(&wrong), 4);
  }

  auto server = TestServer::Start(root, nullptr, ControlMode::kPoll,
                                  absl::Milliseconds(50));
  ASSERT_NE(server, nullptr);
  ModelRepository& repository = server->repository();
  RecordingObserver& observer = server->observer();
  Traffic traffic(server.get());

  std::set<std::string> good = {"1"};
  for (int version = 2; version <= 11; ++version) {
    const std::string to = root + "/iris/" + std::to_string(version);
    if (version == 5 || version == 8) {
      Publish(bad + (version == 5 ? "/corrupt" : "/drifted"), root, to);
      ASSERT_TRUE(observer.AwaitState("iris", version, VersionState::kFailed))
          << "version " << version;
      continue;
    }
    Publish(source + "/1", root, to);
    ASSERT_TRUE(observer.AwaitState("iris", version, VersionState::kReady))
        << "version " << version;
    good.insert(std::to_string(version));
  }
  // Roll back: withdrawing the newest version brings back the previous one.
  fs::remove_all(root + "/iris/11");
  ASSERT_TRUE(observer.AwaitReached("iris", 11, VersionState::kDraining));
  EXPECT_EQ((*repository.Get("iris", ""))->version(), 10);
  traffic.Stop();

  EXPECT_EQ(traffic.failures(), 0) << traffic.first_failure();
  EXPECT_GT(traffic.answered(), 100);
  for (const std::string& version : traffic.versions()) {
    EXPECT_TRUE(good.count(version)) << "answered by version " << version;
  }
  EXPECT_GT(traffic.versions().size(), 2u) << "swaps happened under traffic";
  for (const ModelStatus& model : repository.List()) {
    for (const VersionStatus& v : model.versions) {
      if (v.version == 5) {
        EXPECT_THAT(v.reason, HasSubstr("TorchScript"));
      }
      if (v.version == 8) {
        EXPECT_THAT(v.reason, HasSubstr("validation failed"));
        EXPECT_THAT(v.reason, HasSubstr("output \"probabilities\" row 2"));
      }
    }
  }
  // With traffic gone every retired version drains and is freed as its last
  // call lets go of it (a call's server side may finish just after its
  // client did).
  for (int version = 1; version <= 11; ++version) {
    // 5 and 8 failed; 10 serves again after the roll-back.
    if (version == 5 || version == 8 || version == 10) continue;
    EXPECT_TRUE(observer.AwaitState("iris", version, VersionState::kUnloaded))
        << "version " << version << " never unloaded";
    const std::vector<VersionState> history = observer.History("iris", version);
    EXPECT_EQ(history, (std::vector<VersionState>{
                           VersionState::kLoading, VersionState::kReady,
                           VersionState::kDraining, VersionState::kUnloaded}))
        << "version " << version;
  }
  EXPECT_EQ(observer.History("iris", 10).back(), VersionState::kReady);
}

TEST(VersionSwapTest, HealthFollowsReadinessAsPollsChangeTheRepository) {
  if (TestModels("good").empty())
    GTEST_FAIL() << "INFERD_TEST_MODELS is not set";
  const std::string root = ::testing::TempDir() + "/inferd_health";
  fs::remove_all(root);
  fs::create_directories(root);
  fs::copy(TestModels("good") + "/iris", root + "/iris",
           fs::copy_options::recursive);
  auto server = TestServer::Start(root, nullptr, ControlMode::kPoll,
                                  absl::Milliseconds(50));
  ASSERT_NE(server, nullptr);
  auto health = grpc::health::v1::Health::NewStub(server->channel());
  auto status = [&health] {
    grpc::ClientContext context;
    grpc::health::v1::HealthCheckResponse response;
    EXPECT_TRUE(health->Check(&context, {}, &response).ok());
    return response.status();
  };
  EXPECT_EQ(status(), grpc::health::v1::HealthCheckResponse::SERVING);
  // A model that cannot load appears: the server is no longer ready.
  ModelRepository& repository = server->repository();
  RecordingObserver& observer = server->observer();
  const uint64_t polls_seen = observer.polls();
  fs::create_directories(root + "/broken/1");
  std::ofstream(root + "/broken/config.pbtxt") << "max_batch_size: -1\n";
  // Three polls: one sees the new files, one trusts them, one spare.
  ASSERT_TRUE(observer.AwaitPolls(polls_seen + 3));
  EXPECT_FALSE(repository.AllReady());
  EXPECT_EQ(status(), grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  // It goes away again: ready and serving.
  fs::remove_all(root + "/broken");
  const uint64_t polls_now = observer.polls();
  ASSERT_TRUE(observer.AwaitPolls(polls_now + 2));
  EXPECT_EQ(status(), grpc::health::v1::HealthCheckResponse::SERVING);
}

TEST(VersionSwapTest, RepositoryRpcsLoadUnloadAndIndexInExplicitMode) {
  if (TestModels("good").empty())
    GTEST_FAIL() << "INFERD_TEST_MODELS is not set";
  auto server = TestServer::Start(TestModels("broken"), nullptr,
                                  ControlMode::kExplicit, absl::Seconds(15));
  ASSERT_NE(server, nullptr);
  auto& stub = server->stub();
  {
    grpc::ClientContext context;
    inference::RepositoryModelLoadRequest request;
    request.set_model_name("thrower");
    inference::RepositoryModelLoadResponse response;
    EXPECT_TRUE(stub.RepositoryModelLoad(&context, request, &response).ok());
  }
  {
    grpc::ClientContext context;
    inference::RepositoryModelLoadRequest request;
    request.set_model_name("broken_shape");
    inference::RepositoryModelLoadResponse response;
    grpc::Status status =
        stub.RepositoryModelLoad(&context, request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), HasSubstr("output[0]"));
  }
  std::map<std::string, std::string> states, reasons;
  {
    grpc::ClientContext context;
    inference::RepositoryIndexResponse index;
    ASSERT_TRUE(stub.RepositoryIndex(&context, {}, &index).ok());
    for (const auto& m : index.models()) {
      states[m.name() + ":" + m.version()] = m.state();
      reasons[m.name() + ":" + m.version()] = m.reason();
    }
  }
  EXPECT_EQ(states["thrower:1"], "READY");
  EXPECT_EQ(states["broken_shape:1"], "UNAVAILABLE");
  EXPECT_THAT(reasons["broken_shape:1"], HasSubstr("output[0]"));
  {
    grpc::ClientContext context;
    inference::RepositoryModelUnloadRequest request;
    request.set_model_name("thrower");
    inference::RepositoryModelUnloadResponse response;
    EXPECT_TRUE(stub.RepositoryModelUnload(&context, request, &response).ok());
  }
  grpc::ClientContext context;
  inference::ModelReadyRequest ready_request;
  ready_request.set_name("thrower");
  inference::ModelReadyResponse ready;
  ASSERT_TRUE(stub.ModelReady(&context, ready_request, &ready).ok());
  EXPECT_FALSE(ready.ready());
}

TEST(VersionSwapTest, ModelStatisticsCountsWhatAVersionServed) {
  if (TestModels("good").empty())
    GTEST_FAIL() << "INFERD_TEST_MODELS is not set";
  auto server = TestServer::Start(TestModels("good"));
  ASSERT_NE(server, nullptr);
  for (int rows : {1, 3}) {
    inference::ModelInferRequest request;
    request.set_model_name("iris");
    AddRawInput(&request, "features", "FP32", {rows, 4},
                RawBytes(std::vector<float>(rows * 4, 1.0f)));
    inference::ModelInferResponse response;
    grpc::ClientContext context;
    ASSERT_TRUE(server->stub().ModelInfer(&context, request, &response).ok());
  }
  grpc::ClientContext context;
  inference::ModelStatisticsRequest request;
  request.set_name("iris");
  inference::ModelStatisticsResponse stats;
  ASSERT_TRUE(server->stub().ModelStatistics(&context, request, &stats).ok());
  ASSERT_EQ(stats.model_stats_size(), 1);
  const auto& s = stats.model_stats(0);
  EXPECT_EQ(s.version(), "1");
  EXPECT_EQ(s.inference_count(), 4u);
  EXPECT_EQ(s.inference_stats().success().count(), 2u);
  EXPECT_GT(s.inference_stats().success().ns(), 0u);
  EXPECT_EQ(s.inference_stats().queue().count(), 2u);
  EXPECT_EQ(s.inference_stats().compute_input().count(), 2u);
  EXPECT_EQ(s.inference_stats().compute_infer().count(), 2u);
  EXPECT_GT(s.inference_stats().compute_infer().ns(), 0u);
  EXPECT_EQ(s.inference_stats().compute_output().count(), 2u);
  EXPECT_GT(s.inference_stats().compute_output().ns(), 0u);
  EXPECT_GE(s.execution_count(), 1u);
  EXPECT_GT(s.last_inference(), 0u);
}

}  // namespace
}  // namespace inferd::testing

namespace inferd::testing {
namespace {

int64_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

TEST(UnloadTest, UnloadingAVersionGivesItsMemoryBack) {
#if defined(__SANITIZE_ADDRESS__)
  // AddressSanitizer quarantines freed memory instead of returning it.
  GTEST_SKIP() << "resident memory is not meaningful under AddressSanitizer";
#endif
  if (TestModels("big").empty())
    GTEST_FAIL() << "INFERD_TEST_MODELS is not set";
  TorchModelLoader loader;
  RecordingObserver observer;
  ModelRepository::Options options;
  options.root = TestModels("big");
  options.mode = ControlMode::kExplicit;
  options.start_thread = false;
  options.observer = &observer;
  auto repository = ModelRepository::Create(options, &loader);
  ASSERT_TRUE(repository.ok());
  // Each unload happens on the repository's unload thread, as soon as the
  // last reference goes; the observer says when the n-th one is done.
  auto unload = [&](int n) {
    ASSERT_TRUE((*repository)->UnloadModel("big").ok());
    ASSERT_TRUE(observer.AwaitReached("big", 1, VersionState::kUnloaded, n));
  };
  // One cycle first: LibTorch sets up its own lasting state on first use.
  ASSERT_TRUE((*repository)->LoadModel("big").ok());
  unload(1);

  const int64_t before = ResidentBytes();
  ASSERT_TRUE((*repository)->LoadModel("big").ok());
  const int64_t loaded = ResidentBytes();
  unload(2);
  const int64_t after = ResidentBytes();
  RecordProperty("rss_before_load", std::to_string(before));
  RecordProperty("rss_loaded", std::to_string(loaded));
  RecordProperty("rss_after_unload", std::to_string(after));
  // The model holds 64 MiB of weights.
  EXPECT_GT(loaded - before, 48 << 20)
      << "before " << before << " loaded " << loaded;
  EXPECT_LT(after - before, (loaded - before) / 4)
      << "before " << before << " loaded " << loaded << " after " << after;
}

}  // namespace
}  // namespace inferd::testing
