// The AOTInductor backend on real .pt2 packages written by
// tests/make_test_models.sh (the `make_test_models` CTest fixture).

#include "model_store/backends/aoti_model.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "model_store/backends/torch_loader.h"
#include "model_store/test_util.h"
#include "model_store/warm_up.h"

namespace inferd {
namespace {

using ::testing::HasSubstr;

using testing::FloatTensor;
using testing::LoadTestConfig;
using testing::ReadFloats;

std::string Models(const std::string& which) {
  return testing::TestModels(which);
}

class AotiModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (Models("good").empty())
      GTEST_FAIL() << "INFERD_TEST_MODELS is not set; run through ctest";
  }

  // Loads <repo>/<name>/1 through the loader (platform torch_aoti).
  absl::StatusOr<std::unique_ptr<Model>> Load(const std::string& repo,
                                              const std::string& name) {
    return loader_.Load(LoadTestConfig(repo, name), repo + "/" + name + "/1");
  }

  TorchModelLoader loader_;
};

TEST_F(AotiModelTest, IrisPackageReproducesTheTrainingScriptsOutputs) {
  const std::string dir = Models("good") + "/iris_aoti/1";
  auto model = Load(Models("good"), "iris_aoti");
  ASSERT_TRUE(model.ok()) << model.status();
  std::vector<float> features = ReadFloats(dir + "/validation/features.bin");
  std::vector<float> expected =
      ReadFloats(dir + "/validation/probabilities.bin");
  // Every batch size from 1 row (padded to 2 inside) to max_batch_size.
  for (int64_t rows : {1, 2, 3, 50, 64}) {
    std::vector<float> x(features.begin(), features.begin() + rows * 4);
    auto outputs = (*model)->Execute(0, {FloatTensor(x, {rows, 4})});
    ASSERT_TRUE(outputs.ok()) << outputs.status();
    const Tensor& p = (*outputs)[0];
    ASSERT_EQ(p.shape, (std::vector<int64_t>{rows, 3}));
    const float* got = reinterpret_cast<const float*>(p.data);
    for (int64_t i = 0; i < rows * 3; ++i) {
      EXPECT_NEAR(got[i], expected[i], 1e-5) << rows << " rows, value " << i;
    }
  }
}

TEST_F(AotiModelTest, PackageStartingAtTwoRowsAnswersOneRowBatches) {
  const std::string dir = Models("good") + "/aoti_from_two/1";
  auto model = Load(Models("good"), "aoti_from_two");
  ASSERT_TRUE(model.ok()) << model.status();
  std::vector<float> x = ReadFloats(dir + "/validation/x.bin");
  std::vector<float> y = ReadFloats(dir + "/validation/y.bin");
  for (int row = 0; row < 6; ++row) {
    std::vector<float> one(x.begin() + row * 3, x.begin() + row * 3 + 3);
    auto outputs = (*model)->Execute(0, {FloatTensor(one, {1, 3})});
    ASSERT_TRUE(outputs.ok()) << outputs.status();
    ASSERT_EQ((*outputs)[0].shape, (std::vector<int64_t>{1, 2}));
    const float* got = reinterpret_cast<const float*>((*outputs)[0].data);
    EXPECT_NEAR(got[0], y[row * 2], 1e-5) << "row " << row;
    EXPECT_NEAR(got[1], y[row * 2 + 1], 1e-5) << "row " << row;
  }
}

TEST_F(AotiModelTest, EachInstanceRunsItsOwnCopy) {
  inference::ModelConfig config =
      LoadTestConfig(Models("good"), "aoti_from_two");
  config.clear_instance_group();
  config.add_instance_group()->set_count(3);
  auto model = loader_.Load(config, Models("good") + "/aoti_from_two/1");
  ASSERT_TRUE(model.ok()) << model.status();
  ASSERT_EQ((*model)->instance_count(), 3);
  std::vector<float> x = {1, 2, 3, 4, 5, 6};
  for (int instance = 0; instance < 3; ++instance) {
    auto outputs = (*model)->Execute(instance, {FloatTensor(x, {2, 3})});
    ASSERT_TRUE(outputs.ok()) << instance << ": " << outputs.status();
  }
  EXPECT_TRUE(WarmUp(config, model->get()).ok());
}

TEST_F(AotiModelTest, RowsOutsideThePackagesShapeFailOnlyThatCall) {
  auto model = Load(Models("good"), "aoti_from_two");
  ASSERT_TRUE(model.ok()) << model.status();
  // 4 features where the package was exported for 3: its input check
  // (AOTI_RUNTIME_CHECK_INPUTS, which TorchModelLoader turns on) refuses.
  std::vector<float> wide(8, 1.0f);
  auto outputs = (*model)->Execute(0, {FloatTensor(wide, {2, 4})});
  EXPECT_EQ(outputs.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(outputs.status().message(),
              HasSubstr("the package's run failed: input_handles[0]"));
  std::vector<float> good(6, 1.0f);
  EXPECT_TRUE((*model)->Execute(0, {FloatTensor(good, {2, 3})}).ok());
}

TEST_F(AotiModelTest, StaticBatchDimensionIsRefusedWithHowToReExport) {
  auto model = Load(Models("broken"), "aoti_static_batch");
  EXPECT_EQ(model.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(model.status().message(),
              HasSubstr("aoti_static_batch/1/model.pt2 refuses a batch of 8 "
                        "rows (max_batch_size)"));
  EXPECT_THAT(model.status().message(),
              HasSubstr("export dimension 0 of every input as dynamic"));
}

TEST_F(AotiModelTest, PackageForAnotherCpuIsRefusedBeforeItsCodeLoads) {
  auto model = Load(Models("broken"), "aoti_other_cpu");
  EXPECT_EQ(model.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(model.status().message(),
              HasSubstr("was compiled for CPU instructions this machine lacks "
                        "(AVX10_2 of AOTI_CPU_ISA \"AVX10_2\")"));
}

TEST_F(AotiModelTest, PackageFromAnotherPyTorchIsRefused) {
  auto model = Load(Models("broken"), "aoti_other_torch");
  EXPECT_EQ(model.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(model.status().message(),
              HasSubstr("was compiled by PyTorch 2.6.0, but inferd runs "
                        "LibTorch " +
                        TorchVersion()));
}

TEST_F(AotiModelTest, FileThatIsNoPackageIsRefused) {
  auto model = Load(Models("broken"), "aoti_not_a_package");
  EXPECT_EQ(model.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(model.status().message(),
              HasSubstr("aoti_not_a_package/1/model.pt: not a loadable "
                        "AOTInductor package (.pt2)"));
  // LibTorch's reason, without the C++ backtrace c10::Error carries.
  EXPECT_THAT(std::string(model.status().message()),
              ::testing::Not(HasSubstr("frame #")));
}

TEST_F(AotiModelTest, ConfigWithMoreInputsThanThePackageIsRefused) {
  inference::ModelConfig config =
      LoadTestConfig(Models("good"), "aoti_from_two");
  *config.add_input() = config.input(0);
  config.mutable_input(1)->set_name("extra");
  auto model = loader_.Load(config, Models("good") + "/aoti_from_two/1");
  EXPECT_EQ(model.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(model.status().message(),
              HasSubstr("config declares 2 inputs, but"));
  EXPECT_THAT(model.status().message(), HasSubstr("takes 1 tensors"));
}

TEST_F(AotiModelTest, CpuPackageOnAGpuInstanceGroupIsRefused) {
  inference::ModelConfig config =
      LoadTestConfig(Models("good"), "aoti_from_two");
  config.clear_instance_group();
  config.add_instance_group()->set_kind(
      inference::ModelInstanceGroup::KIND_GPU);
  auto model = loader_.Load(config, Models("good") + "/aoti_from_two/1");
  EXPECT_EQ(model.status().code(), absl::StatusCode::kInvalidArgument);
  // Without a GPU the group itself is refused; with one, the package is.
  EXPECT_THAT(model.status().message(),
              TorchHasCuda()
                  ? HasSubstr("was compiled for the CPU, but its "
                              "instance_group asks for cuda:0")
                  : HasSubstr("instance_group[0].kind: KIND_GPU requested"));
}

}  // namespace
}  // namespace inferd
