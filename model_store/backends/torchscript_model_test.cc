// TorchModelLoader on real TorchScript archives written by
// tests/make_test_models.sh (the `make_test_models` CTest fixture).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>
#include <thread>

#include "model_store/backends/torch_loader.h"
#include "model_store/model_config.h"
#include "model_store/model_repository.h"
#include "model_store/servable_model.h"
#include "model_store/test_util.h"
#include "model_store/warm_up.h"

namespace inferd {
namespace {

using ::testing::HasSubstr;

using testing::FloatTensor;
using testing::LoadTestConfig;
using testing::ReadFloats;

std::string Models() { return testing::TestModels(""); }

// Counts how the wrapped model is called: batches and their rows.
class CountingModel : public Model {
 public:
  explicit CountingModel(std::unique_ptr<Model> inner)
      : inner_(std::move(inner)) {}
  absl::StatusOr<std::vector<Tensor>> Execute(
      int instance, const std::vector<Tensor>& inputs) override {
    batch_rows.push_back(inputs[0].shape[0]);
    return inner_->Execute(instance, inputs);
  }
  std::vector<int64_t> batch_rows;  // only touched by the test thread

 private:
  std::unique_ptr<Model> inner_;
};

class TorchModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (Models().empty())
      GTEST_FAIL() << "INFERD_TEST_MODELS is not set; run through ctest";
    good_ = Models() + "/good";
  }
  std::string good_;
  TorchModelLoader loader_;
};

TEST_F(TorchModelTest, IrisReproducesTheTrainingScriptsOutputs) {
  inference::ModelConfig config = LoadTestConfig(good_, "iris");
  auto model = loader_.Load(config, good_ + "/iris/1");
  ASSERT_TRUE(model.ok()) << model.status();
  std::vector<float> features =
      ReadFloats(good_ + "/iris/1/validation/features.bin");
  std::vector<float> expected =
      ReadFloats(good_ + "/iris/1/validation/probabilities.bin");
  // 150 rows in chunks of the config's max_batch_size.
  for (int64_t first = 0; first < 150; first += 50) {
    std::vector<float> rows(features.begin() + first * 4,
                            features.begin() + (first + 50) * 4);
    auto outputs = (*model)->Execute(0, {FloatTensor(rows, {50, 4})});
    ASSERT_TRUE(outputs.ok()) << outputs.status();
    const Tensor& p = (*outputs)[0];
    ASSERT_EQ(p.dtype, inference::TYPE_FP32);
    ASSERT_EQ(p.shape, (std::vector<int64_t>{50, 3}));
    const float* got = reinterpret_cast<const float*>(p.data);
    for (int i = 0; i < 150; ++i) {
      EXPECT_NEAR(got[i], expected[first * 3 + i], 1e-5)
          << "value " << first * 3 + i;
    }
  }
}

TEST_F(TorchModelTest, BatchedExecutionEqualsRequestsRunOneByOne) {
  inference::ModelConfig config = LoadTestConfig(good_, "mlp");
  auto loaded = loader_.Load(config, good_ + "/mlp/1");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  auto counting = std::make_unique<CountingModel>(std::move(*loaded));
  CountingModel* counter = counting.get();
  SimulatedClock clock;
  ServableModel::Options options;
  options.config = config;
  options.clock = &clock;
  options.start_workers = false;
  auto servable = ServableModel::Create(options, std::move(counting));
  ASSERT_TRUE(servable.ok());

  const std::vector<int64_t> rows = {1, 3, 2, 1, 5};
  std::mt19937 rng(7);
  std::normal_distribution<float> normal;
  std::vector<std::shared_ptr<std::string>> inputs;
  std::vector<std::string> batched(rows.size()), alone(rows.size());
  auto submit = [&](size_t i, std::string* out) {
    InferRequest request;
    InputTensor x;
    x.name = "x";
    x.datatype = "FP32";
    x.shape = {rows[i], 256};
    x.data = *inputs[i];
    request.inputs.push_back(x);
    (*servable)->Infer(std::move(request),
                       [out](absl::StatusOr<InferResponse> r) {
                         ASSERT_TRUE(r.ok()) << r.status();
                         *out = r->outputs[0].data;
                       });
  };
  for (size_t i = 0; i < rows.size(); ++i) {
    std::vector<float> values(rows[i] * 256);
    for (float& v : values) v = normal(rng);
    inputs.push_back(std::make_shared<std::string>(
        reinterpret_cast<const char*>(values.data()), values.size() * 4));
    submit(i, &batched[i]);
  }
  clock.Advance(absl::Seconds(1));
  ASSERT_EQ((*servable)->RunOnce(), rows.size());
  ASSERT_EQ(counter->batch_rows, (std::vector<int64_t>{12}));
  for (size_t i = 0; i < rows.size(); ++i) {
    submit(i, &alone[i]);
    clock.Advance(absl::Seconds(1));
    ASSERT_EQ((*servable)->RunOnce(), 1u);
  }
  for (size_t i = 0; i < rows.size(); ++i) {
    ASSERT_EQ(batched[i].size(), static_cast<size_t>(rows[i] * 10 * 4));
    ASSERT_EQ(alone[i].size(), batched[i].size());
    const float* a = reinterpret_cast<const float*>(batched[i].data());
    const float* b = reinterpret_cast<const float*>(alone[i].data());
    for (int64_t k = 0; k < rows[i] * 10; ++k) {
      EXPECT_NEAR(a[k], b[k], 1e-4) << "request " << i << " value " << k;
    }
  }
}

TEST_F(TorchModelTest, ModelThatThrowsBecomesInternalWithTheCause) {
  inference::ModelConfig config = LoadTestConfig(good_, "thrower");
  auto model = loader_.Load(config, good_ + "/thrower/1");
  ASSERT_TRUE(model.ok()) << model.status();
  std::vector<float> bad = {-1, 0};
  auto outputs = (*model)->Execute(0, {FloatTensor(bad, {1, 2})});
  EXPECT_EQ(outputs.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(outputs.status().message(),
              HasSubstr("negative input not allowed"));
  std::vector<float> good = {1, 2};
  outputs = (*model)->Execute(0, {FloatTensor(good, {1, 2})});
  ASSERT_TRUE(outputs.ok());
}

TEST_F(TorchModelTest, EachInstanceRunsItsOwnCopy) {
  inference::ModelConfig config = LoadTestConfig(good_, "thrower");
  config.mutable_instance_group(0)->set_count(3);
  auto model = loader_.Load(config, good_ + "/thrower/1");
  ASSERT_TRUE(model.ok()) << model.status();
  ASSERT_EQ((*model)->instance_count(), 3);
  std::vector<float> x = {1, 2};
  for (int instance = 0; instance < 3; ++instance) {
    auto outputs = (*model)->Execute(instance, {FloatTensor(x, {1, 2})});
    ASSERT_TRUE(outputs.ok()) << instance;
  }
}

TEST_F(TorchModelTest, WorkerThreadsRunWithTheConfiguredIntraOpThreads) {
  auto model = loader_.Load(LoadTestConfig(Models() + "/good", "mlp"),
                            Models() + "/good/mlp/1");
  ASSERT_TRUE(model.ok()) << model.status();
  ConfigureTorchThreads(1, 0);
  // A thread LibTorch did not start, as a batch worker is, begins with
  // OpenMP's default: one thread per core.
  int before = 0, during = 0;
  std::thread worker([&] {
    before = OpenMpThreadsOfThisThread();
    std::vector<float> x(256, 0.5f);
    ASSERT_TRUE((*model)->Execute(0, {FloatTensor(x, {1, 256})}).ok());
    during = OpenMpThreadsOfThisThread();
  });
  worker.join();
  if (before == -1) GTEST_SKIP() << "this LibTorch does not use OpenMP";
  if (before == 1) GTEST_SKIP() << "one core: OpenMP's default is already 1";
  EXPECT_EQ(during, 1) << "the forward pass ran with " << before
                       << " intra-op threads";
}

TEST_F(TorchModelTest, GpuInstanceGroupWithoutCudaIsRefusedClearly) {
  if (TorchHasCuda()) GTEST_SKIP() << "this machine has CUDA";
  inference::ModelConfig config = LoadTestConfig(good_, "thrower");
  config.mutable_instance_group(0)->set_kind(
      inference::ModelInstanceGroup::KIND_GPU);
  auto model = loader_.Load(config, good_ + "/thrower/1");
  EXPECT_EQ(model.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(model.status().message(),
              HasSubstr("instance_group[0].kind: KIND_GPU requested, but"));
}

TEST_F(TorchModelTest, AutoInstanceGroupFallsBackToCpuWithoutCuda) {
  if (TorchHasCuda()) GTEST_SKIP() << "this machine has CUDA";
  inference::ModelConfig config = LoadTestConfig(good_, "thrower");
  config.mutable_instance_group(0)->set_kind(
      inference::ModelInstanceGroup::KIND_AUTO);
  config.mutable_instance_group(0)->set_count(2);
  auto model = loader_.Load(config, good_ + "/thrower/1");
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ((*model)->instance_count(), 2);
}

TEST_F(TorchModelTest, LoadErrorsNameTheProblem) {
  const std::string broken = Models() + "/broken";
  inference::ModelConfig config = LoadTestConfig(broken, "broken_archive");
  auto model = loader_.Load(config, broken + "/broken_archive/1");
  EXPECT_EQ(model.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(model.status().message(),
              HasSubstr("not a loadable TorchScript archive"));

  config = LoadTestConfig(broken, "broken_input_name");
  model = loader_.Load(config, broken + "/broken_input_name/1");
  EXPECT_EQ(model.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(model.status().message(),
              HasSubstr("input[0].name: \"features\" matches no argument of "
                        "the model's forward(x)"));

  config = LoadTestConfig(broken, "broken_shape");
  model = loader_.Load(config, broken + "/broken_shape/1");
  ASSERT_TRUE(model.ok());  // loads, but contradicts its config:
  absl::Status warm = WarmUp(config, model->get());
  EXPECT_EQ(warm.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(warm.message(), HasSubstr("output[0]"));
  EXPECT_THAT(warm.message(), HasSubstr("[1,6]"));
}

TEST_F(TorchModelTest, MissingModelFileIsReported) {
  inference::ModelConfig config = LoadTestConfig(good_, "iris");
  auto model = loader_.Load(config, good_ + "/iris/999");
  EXPECT_EQ(model.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(model.status().message(),
            "model file \"model.pt\": no such regular file inside the model "
            "directory");
}

}  // namespace
}  // namespace inferd
