#include "model_store/backends/aoti_probe.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "model_store/model_config.h"

namespace inferd {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A package stand-in: accepts batches of [min_accepted, max_accepted] rows
// (refusing others as AOTInductor's input checks do), and answers
// `static_rows` rows when set (a static batch dimension), else as many rows
// as it was given.
class FakePackage : public AotiProbeTarget {
 public:
  int64_t min_accepted = 1;
  int64_t max_accepted = 1 << 20;
  int64_t static_rows = 0;
  std::vector<int64_t> calls;
  int64_t min_rows = 1;

  void set_min_rows(int64_t rows) override { min_rows = rows; }

  absl::StatusOr<std::vector<Tensor>> Execute(
      int instance, const std::vector<Tensor>& inputs) override {
    const int64_t rows = inputs[0].shape[0];
    calls.push_back(rows);
    if (rows < min_accepted) {
      return absl::InternalError(
          "the package's run failed: dim value is too small at 0");
    }
    if (rows > max_accepted) {
      return absl::InternalError(
          "the package's run failed: dim value is too large at 0");
    }
    Tensor out;
    out.dtype = inference::TYPE_FP32;
    out.shape = {static_rows > 0 ? static_rows : rows, 3};
    auto bytes = std::make_shared<std::string>(out.shape[0] * 3 * 4, '\0');
    out.data = bytes->data();
    out.byte_size = bytes->size();
    out.owner = bytes;
    return std::vector<Tensor>{out};
  }
};

inference::ModelConfig Config(int max_batch_size) {
  inference::ModelConfig config;
  config.set_name("m");
  config.set_max_batch_size(max_batch_size);
  auto* input = config.add_input();
  input->set_name("x");
  input->set_data_type(inference::TYPE_FP32);
  input->add_dims(4);
  auto* output = config.add_output();
  output->set_name("y");
  output->set_data_type(inference::TYPE_FP32);
  output->add_dims(3);
  return config;
}

TEST(AotiProbeTest, DynamicBatchIsProbedAtOneAndMaxRows) {
  FakePackage package;
  ASSERT_TRUE(ProbeBatchDimension(Config(16), "m.pt2", &package).ok());
  EXPECT_THAT(package.calls, ElementsAre(1, 16));
  EXPECT_EQ(package.min_rows, 1);
}

TEST(AotiProbeTest, BatchStartingAtTwoPadsOneRowBatches) {
  FakePackage package;
  package.min_accepted = 2;
  ASSERT_TRUE(ProbeBatchDimension(Config(16), "m.pt2", &package).ok());
  EXPECT_THAT(package.calls, ElementsAre(1, 2, 16));
  EXPECT_EQ(package.min_rows, 2);
}

TEST(AotiProbeTest, StaticBatchOfOneIsRefusedWithHowToExport) {
  FakePackage package;
  package.static_rows = 1;
  absl::Status status = ProbeBatchDimension(Config(8), "1/model.pt2", &package);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(),
              HasSubstr("1/model.pt2 refuses a batch of 8 rows "
                        "(max_batch_size): given 8 rows, it answered 1 rows of "
                        "output \"y\" (its batch dimension was exported "
                        "static)"));
  EXPECT_THAT(
      status.message(),
      HasSubstr("dynamic_shapes={\"x\": {0: torch.export.Dim(\"batch\")}}), "
                "lower max_batch_size to what the package takes, or "
                "set max_batch_size: 0"));
}

TEST(AotiProbeTest, StaticBatchLargerThanOneIsRefused) {
  FakePackage package;
  package.static_rows = 4;
  package.min_accepted = 4;
  package.max_accepted = 4;
  absl::Status status = ProbeBatchDimension(Config(8), "m.pt2", &package);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("refuses a batch of 1 row"));
}

TEST(AotiProbeTest, BatchMaxBelowMaxBatchSizeIsRefused) {
  FakePackage package;
  package.max_accepted = 32;
  absl::Status status = ProbeBatchDimension(Config(64), "m.pt2", &package);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(),
              HasSubstr("refuses a batch of 64 rows (max_batch_size): the "
                        "package's run failed: dim value is too large at 0"));
}

TEST(AotiProbeTest, UnbatchedConfigIsNotProbed) {
  FakePackage package;
  package.static_rows = 1;
  EXPECT_TRUE(ProbeBatchDimension(Config(0), "m.pt2", &package).ok());
  EXPECT_TRUE(package.calls.empty());
}

TEST(AotiProbeTest, MaxBatchSizeOneProbesOnlyOneRow) {
  FakePackage package;
  package.static_rows = 1;
  EXPECT_TRUE(ProbeBatchDimension(Config(1), "m.pt2", &package).ok());
  EXPECT_THAT(package.calls, ElementsAre(1));
}

}  // namespace
}  // namespace inferd
