#include "model_store/warm_up.h"

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model_store/data_type.h"
#include "model_store/model_config.h"
#include "model_store/shape.h"

namespace inferd {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

// Answers every batch with zeros of the config's output shapes, and records
// the calls.
class RecordingModel : public Model {
 public:
  explicit RecordingModel(const inference::ModelConfig& config)
      : config_(config) {}

  absl::StatusOr<std::vector<Tensor>> Execute(
      int instance, const std::vector<Tensor>& inputs) override {
    (void)instance;
    ++calls;
    shapes.clear();
    for (const Tensor& input : inputs) shapes.push_back(input.shape);
    const bool batched = config_.max_batch_size() > 0;
    const int64_t rows = batched && !inputs.empty() ? inputs[0].shape[0] : 1;
    std::vector<Tensor> outputs;
    for (const auto& output : config_.output()) {
      Tensor tensor;
      tensor.dtype = output.data_type();
      tensor.shape = SmallestShape(output.dims(), batched, rows);
      auto data = std::make_shared<std::string>(
          ByteCount(tensor.shape, ElementSize(tensor.dtype)).value(), '\0');
      tensor.data = data->data();
      tensor.byte_size = data->size();
      tensor.owner = data;
      outputs.push_back(std::move(tensor));
    }
    return outputs;
  }

  int calls = 0;
  std::vector<std::vector<int64_t>> shapes;  // of the last call's inputs

 private:
  inference::ModelConfig config_;
};

// One FP32 input "x" of `dims` and one output "y" of [2]; no validation, so
// that the warm-up's own checks are what is tested.
inference::ModelConfig Config(int max_batch_size, std::vector<int64_t> dims) {
  inference::ModelConfig config;
  config.set_name("m");
  config.set_max_batch_size(max_batch_size);
  auto* input = config.add_input();
  input->set_name("x");
  input->set_data_type(inference::TYPE_FP32);
  for (int64_t dim : dims) input->add_dims(dim);
  auto* output = config.add_output();
  output->set_name("y");
  output->set_data_type(inference::TYPE_FP32);
  output->add_dims(2);
  return config;
}

inference::ModelWarmup::Input* AddWarmup(inference::ModelConfig* config,
                                         uint32_t batch_size, uint32_t count) {
  auto* warmup = config->add_model_warmup();
  warmup->set_name("w");
  warmup->set_batch_size(batch_size);
  warmup->set_count(count);
  auto* x = &(*warmup->mutable_inputs())["x"];
  x->set_zero_data(true);
  return x;
}

void ExpectInvalid(const absl::Status& status, const std::string& substring) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr(substring));
}

TEST(WarmUpTest, WithoutEntriesRunsOneRowOfZeros) {
  inference::ModelConfig config = Config(8, {-1, 3});
  RecordingModel model(config);
  ASSERT_TRUE(WarmUp(config, &model).ok());
  EXPECT_EQ(model.calls, 1);
  EXPECT_THAT(model.shapes, ElementsAre(ElementsAre(1, 1, 3)));
}

TEST(WarmUpTest, RunsEachEntryCountTimesWithItsRowsAndDims) {
  inference::ModelConfig config = Config(8, {-1, 3});
  AddWarmup(&config, 4, 3)->add_dims(5);
  config.mutable_model_warmup(0)->mutable_inputs()->at("x").add_dims(3);
  RecordingModel model(config);
  ASSERT_TRUE(WarmUp(config, &model).ok());
  EXPECT_EQ(model.calls, 3);
  EXPECT_THAT(model.shapes, ElementsAre(ElementsAre(4, 5, 3)));
}

// dims: [ 100000000000 ] aborted the server with std::bad_alloc here.
TEST(WarmUpTest, RefusesAnInputPastTheByteLimitBeforeAllocating) {
  inference::ModelConfig config = Config(0, {100000000000});
  RecordingModel model(config);
  ExpectInvalid(WarmUp(config, &model),
                absl::StrCat("warm-up with zero inputs: 1 row of zeros: input "
                             "\"x\" of shape [100000000000] and type TYPE_FP32 "
                             "would take 400000000000 bytes; at most ",
                             kMaxTensorBytes, " allowed per tensor"));
  EXPECT_EQ(model.calls, 0);
}

TEST(WarmUpTest, InputAtTheByteLimitRuns) {
  // 2^28 FP32: 1 GiB, allocated once.
  inference::ModelConfig config = Config(0, {int64_t{1} << 28});
  RecordingModel model(config);
  ASSERT_TRUE(WarmUp(config, &model).ok());
  EXPECT_EQ(model.calls, 1);
}

TEST(WarmUpTest, RefusesDimsWhoseProductOverflows) {
  // 2^32 * 2^32 wraps to 0: the old count made an empty tensor of that shape.
  const int64_t big = int64_t{1} << 32;
  inference::ModelConfig config = Config(0, {big, big});
  RecordingModel model(config);
  ExpectInvalid(WarmUp(config, &model),
                "input \"x\" of shape [4294967296,4294967296] and type "
                "TYPE_FP32 would take more than 2^63 bytes");
  EXPECT_EQ(model.calls, 0);
}

TEST(WarmUpTest, RefusesAnEntryWhoseOwnDimsArePastTheLimit) {
  inference::ModelConfig config = Config(8, {-1});
  AddWarmup(&config, 2, 1)->add_dims(int64_t{1} << 28);  // 2 GiB
  RecordingModel model(config);
  ExpectInvalid(
      WarmUp(config, &model),
      absl::StrCat("model_warmup[0]: input \"x\" of shape "
                   "[2,268435456] and type TYPE_FP32 would take ",
                   int64_t{2} << 30, " bytes; at most ", kMaxTensorBytes));
  EXPECT_EQ(model.calls, 0);
}

TEST(WarmUpTest, RefusesAnEntryWhoseRowsTimesDimsOverflow) {
  // 2^30 * 2^30 elements a row fit in int64; 8 rows of them do not.
  inference::ModelConfig config = Config(8, {-1, -1});
  auto* x = AddWarmup(&config, 8, 1);
  x->add_dims(kMaxDim);
  x->add_dims(kMaxDim);
  RecordingModel model(config);
  ExpectInvalid(WarmUp(config, &model),
                "model_warmup[0]: input \"x\" of shape "
                "[8,1073741824,1073741824] and type TYPE_FP32 would take more "
                "than 2^63 bytes");
  EXPECT_EQ(model.calls, 0);
}

TEST(WarmUpTest, RefusesBatchSizeAboveMaxBatchSize) {
  inference::ModelConfig config = Config(8, {3});
  AddWarmup(&config, 8, 1);
  AddWarmup(&config, 4000000000u, 1);
  RecordingModel model(config);
  ExpectInvalid(WarmUp(config, &model),
                "model_warmup[1].batch_size: 4000000000 exceeds "
                "max_batch_size 8");
  EXPECT_EQ(model.calls, 1);  // entry 0 only
}

TEST(WarmUpTest, RefusesNegativeEntryDims) {
  inference::ModelConfig config = Config(8, {-1});
  AddWarmup(&config, 2, 1)->add_dims(-7);
  RecordingModel model(config);
  ExpectInvalid(WarmUp(config, &model),
                "model_warmup[0]: input \"x\" of shape [2,-7]");
  EXPECT_EQ(model.calls, 0);
}

TEST(WarmUpTest, RefusesInputsPastTheBatchLimitTogetherBeforeAllocating) {
  // Five inputs of 1 GiB: the fifth passes kMaxBatchInputBytes, and none is
  // allocated (5 GiB would be).
  inference::ModelConfig config = Config(0, {int64_t{1} << 28});
  for (int i = 1; i < 5; ++i) {
    *config.add_input() = config.input(0);
    config.mutable_input(i)->set_name(absl::StrCat("x", i));
  }
  RecordingModel model(config);
  ExpectInvalid(
      WarmUp(config, &model),
      absl::StrCat("the inputs of one batch would take ", int64_t{5} << 30,
                   " bytes with input \"x4\"; at "
                   "most ",
                   kMaxBatchInputBytes));
  EXPECT_EQ(model.calls, 0);
}

TEST(ZeroInputsTest, RowsPastTheLimitAreRefused) {
  inference::ModelConfig config = Config(8, {3});
  absl::StatusOr<std::vector<Tensor>> inputs = ZeroInputs(config, 8);
  ASSERT_TRUE(inputs.ok()) << inputs.status();
  ASSERT_THAT(*inputs, SizeIs(1));
  EXPECT_THAT((*inputs)[0].shape, ElementsAre(8, 3));
  EXPECT_EQ((*inputs)[0].byte_size, 8u * 3 * 4);

  const int64_t rows = std::numeric_limits<int64_t>::max();
  ExpectInvalid(
      ZeroInputs(config, rows).status(),
      absl::StrCat(rows, " rows of zeros: input \"x\" of shape [", rows,
                   ",3] and type TYPE_FP32 would take more "
                   "than 2^63 bytes"));
  ExpectInvalid(ZeroInputs(config, -1).status(), "shape [-1,3]");
}

}  // namespace
}  // namespace inferd
