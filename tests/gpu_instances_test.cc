// KIND_GPU instance groups on a real GPU (CTest label "gpu"). Each test skips,
// saying why, where LibTorch sees no CUDA device: the suite must pass on the
// CPU-only machines CI runs on, and these run where a GPU is lent.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>
#include <thread>

#include "model_store/backends/torch_loader.h"
#include "tests/test_server.h"

namespace inferd::testing {
namespace {

using ::testing::HasSubstr;

inference::ModelConfig LoadConfig(const std::string& name) {
  return LoadTestConfig(TestModels("good"), name);
}

void UseGpuStreams(inference::ModelConfig* config, int count) {
  config->clear_instance_group();
  auto* group = config->add_instance_group();
  group->set_kind(inference::ModelInstanceGroup::KIND_GPU);
  group->set_count(count);
}

class GpuInstancesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (TestModels("good").empty())
      GTEST_FAIL() << "INFERD_TEST_MODELS is not set; run through ctest";
    if (!TorchHasCuda()) {
      GTEST_SKIP() << "no CUDA device visible to LibTorch "
                      "(torch::cuda::is_available() is false)";
    }
  }
  TorchModelLoader loader_;
};

TEST_F(GpuInstancesTest, SeveralStreamsGiveTheCpusResults) {
  inference::ModelConfig cpu_config = LoadConfig("mlp");
  auto cpu = loader_.Load(cpu_config, TestModels("good") + "/mlp/1");
  ASSERT_TRUE(cpu.ok()) << cpu.status();
  inference::ModelConfig gpu_config = cpu_config;
  UseGpuStreams(&gpu_config, 3);
  auto gpu = loader_.Load(gpu_config, TestModels("good") + "/mlp/1");
  ASSERT_TRUE(gpu.ok()) << gpu.status();
  ASSERT_EQ((*gpu)->instance_count(), 3);

  std::mt19937 rng(3);
  std::normal_distribution<float> normal;
  std::vector<float> x(32 * 256);
  for (float& v : x) v = normal(rng);
  auto expected = (*cpu)->Execute(0, {FloatTensor(x, {32, 256})});
  ASSERT_TRUE(expected.ok());
  const float* want = reinterpret_cast<const float*>((*expected)[0].data);
  // The three streams run at once, each on its own worker thread.
  std::vector<std::thread> workers;
  for (int instance = 0; instance < 3; ++instance) {
    workers.emplace_back([&, instance] {
      for (int round = 0; round < 20; ++round) {
        auto got = (*gpu)->Execute(instance, {FloatTensor(x, {32, 256})});
        ASSERT_TRUE(got.ok()) << got.status();
        const float* have = reinterpret_cast<const float*>((*got)[0].data);
        for (int i = 0; i < 32 * 10; ++i) {
          ASSERT_NEAR(have[i], want[i], 1e-3) << "instance " << instance;
        }
      }
    });
  }
  for (std::thread& t : workers) t.join();
}

TEST_F(GpuInstancesTest, AnErrorOnTheGpuFailsOnlyItsBatch) {
  inference::ModelConfig config = LoadConfig("thrower");
  UseGpuStreams(&config, 2);
  auto model = loader_.Load(config, TestModels("good") + "/thrower/1");
  ASSERT_TRUE(model.ok()) << model.status();
  std::vector<float> bad = {-1, 0};
  auto failed = (*model)->Execute(0, {FloatTensor(bad, {1, 2})});
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(failed.status().message(), HasSubstr("negative input"));
  std::vector<float> good = {1, 2};
  for (int instance = 0; instance < 2; ++instance) {
    auto ok = (*model)->Execute(instance, {FloatTensor(good, {1, 2})});
    ASSERT_TRUE(ok.ok()) << ok.status();
    const float* y = reinterpret_cast<const float*>((*ok)[0].data);
    EXPECT_FLOAT_EQ(y[0], 2);
    EXPECT_FLOAT_EQ(y[1], 4);
  }
}

}  // namespace
}  // namespace inferd::testing
