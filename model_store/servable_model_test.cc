#include "model_store/servable_model.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>

#include "absl/synchronization/mutex.h"
#include "google/protobuf/text_format.h"
#include "model_store/model_config.h"

namespace inferd {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Doubles its FP32 input "x" [rows, 2] into output "y"; records each batch.
class DoublingModel : public Model {
 public:
  absl::StatusOr<std::vector<Tensor>> Execute(
      int instance, const std::vector<Tensor>& inputs) override {
    absl::MutexLock lock(&mu_);
    batches_.push_back(inputs[0].shape[0]);
    input_pointers_.push_back(inputs[0].data);
    if (clock_ != nullptr) clock_->Advance(takes_);
    if (fail_next_) {
      fail_next_ = false;
      return absl::InternalError("out of cheese");
    }
    auto values = std::make_shared<std::vector<float>>(inputs[0].byte_size / 4);
    std::memcpy(values->data(), inputs[0].data, inputs[0].byte_size);
    for (float& v : *values) v *= 2;
    Tensor out;
    out.dtype = inference::TYPE_FP32;
    out.shape = inputs[0].shape;
    if (wrong_rows_) out.shape[0] += 1;
    out.data = reinterpret_cast<const char*>(values->data());
    out.byte_size = values->size() * 4;
    out.owner = values;
    return std::vector<Tensor>{out};
  }

  std::vector<int64_t> batches() {
    absl::MutexLock lock(&mu_);
    return batches_;
  }
  std::vector<const char*> input_pointers() {
    absl::MutexLock lock(&mu_);
    return input_pointers_;
  }
  void FailNext() {
    absl::MutexLock lock(&mu_);
    fail_next_ = true;
  }
  void ReturnWrongRows() {
    absl::MutexLock lock(&mu_);
    wrong_rows_ = true;
  }
  // Each batch moves `clock` on by `takes`, as if the model ran that long.
  void Take(SimulatedClock* clock, absl::Duration takes) {
    absl::MutexLock lock(&mu_);
    clock_ = clock;
    takes_ = takes;
  }

 private:
  absl::Mutex mu_;
  std::vector<int64_t> batches_ ABSL_GUARDED_BY(mu_);
  std::vector<const char*> input_pointers_ ABSL_GUARDED_BY(mu_);
  bool fail_next_ ABSL_GUARDED_BY(mu_) = false;
  bool wrong_rows_ ABSL_GUARDED_BY(mu_) = false;
  SimulatedClock* clock_ ABSL_GUARDED_BY(mu_) = nullptr;
  absl::Duration takes_ ABSL_GUARDED_BY(mu_);
};

constexpr char kConfig[] = R"pb(
  name: "double"
  max_batch_size: 8
  input {
    name: "x"
    data_type: TYPE_FP32
    dims: [ 2 ]
  }
  output {
    name: "y"
    data_type: TYPE_FP32
    dims: [ 2 ]
    label_filename: "l"
  }
  dynamic_batching { max_queue_delay_microseconds: 1000 }
  # These tests step batching by hand with Triton's fixed delay.
  parameters {
    key: "INFERD_QUEUE_DELAY"
    value: { string_value: "fixed" }
  }
)pb";

class ServableModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    inference::ModelConfig config;
    ASSERT_TRUE(
        google::protobuf::TextFormat::ParseFromString(kConfig, &config));
    Create(config);
  }

  // (Re)creates the servable for `config` (kConfig with changes).
  void Create(inference::ModelConfig config) {
    servable_.reset();
    ASSERT_TRUE(ValidateModelConfig("double", &config).ok());
    auto model = std::make_unique<DoublingModel>();
    model_ = model.get();
    ServableModel::Options options;
    options.config = config;
    options.version = 3;
    options.labels = {{"left", "right"}};
    options.clock = &clock_;
    options.start_workers = false;
    auto servable = ServableModel::Create(std::move(options), std::move(model));
    ASSERT_TRUE(servable.ok()) << servable.status();
    servable_ = std::move(*servable);
  }

  // Submits rows of x; the answer lands in results_[slot]. Returns where
  // the request's bytes live.
  const char* Submit(const std::vector<float>& values, size_t slot,
                     std::vector<RequestedOutput> outputs = {},
                     absl::Time deadline = absl::InfiniteFuture()) {
    auto bytes = std::make_shared<const std::string>(
        reinterpret_cast<const char*>(values.data()), values.size() * 4);
    InferRequest request;
    request.model_name = "double";
    request.id = "id-" + std::to_string(slot);
    request.deadline = deadline;
    request.priority = priority_;
    request.timeout = timeout_;
    request.outputs = std::move(outputs);
    InputTensor input;
    input.name = "x";
    input.datatype = "FP32";
    input.shape = {static_cast<int64_t>(values.size() / 2), 2};
    input.data = *bytes;
    input.storage = bytes;
    request.inputs.push_back(std::move(input));
    if (results_.size() <= slot) results_.resize(slot + 1);
    servable_->Infer(std::move(request),
                     [this, slot](absl::StatusOr<InferResponse> response) {
                       ASSERT_FALSE(results_[slot].has_value())
                           << "answered twice";
                       results_[slot] = std::move(response);
                     });
    return bytes->data();
  }

  std::vector<float> Floats(size_t slot) {
    const std::string& data = (*results_[slot])->outputs[0].data;
    std::vector<float> values(data.size() / 4);
    std::memcpy(values.data(), data.data(), data.size());
    return values;
  }

  SimulatedClock clock_;
  // What Submit() asks for.
  uint64_t priority_ = 0;
  absl::Duration timeout_ = absl::ZeroDuration();
  DoublingModel* model_ = nullptr;
  std::unique_ptr<ServableModel> servable_;
  std::vector<std::optional<absl::StatusOr<InferResponse>>> results_;
};

TEST_F(ServableModelTest, ConcatenatesRequestsAndGivesEachItsOwnRows) {
  Submit({1, 2}, 0);
  Submit({3, 4, 5, 6}, 1);
  Submit({7, 8}, 2);
  EXPECT_EQ(servable_->RunOnce(), 0u);  // waiting for more rows
  clock_.Advance(absl::Milliseconds(1));
  EXPECT_EQ(servable_->RunOnce(), 3u);
  EXPECT_THAT(model_->batches(), ElementsAre(4));
  for (size_t slot = 0; slot < 3; ++slot) {
    ASSERT_TRUE(results_[slot].has_value() && results_[slot]->ok());
    EXPECT_EQ((*results_[slot])->id, "id-" + std::to_string(slot));
    EXPECT_EQ((*results_[slot])->model_name, "double");
    EXPECT_EQ((*results_[slot])->model_version, "3");
  }
  EXPECT_THAT(Floats(0), ElementsAre(2, 4));
  EXPECT_THAT(Floats(1), ElementsAre(6, 8, 10, 12));
  EXPECT_THAT((*results_[1])->outputs[0].shape, ElementsAre(2, 2));
  EXPECT_THAT(Floats(2), ElementsAre(14, 16));
}

// The model's time is compute_infer, for every request of its batch, and
// none of it leaks into compute_input (gathering the batch) or
// compute_output (cutting out each request's rows), which are counted per
// request too.
TEST_F(ServableModelTest, StatisticsSplitComputeIntoInputInferAndOutput) {
  model_->Take(&clock_, absl::Milliseconds(5));
  Submit({1, 2}, 0);
  Submit({3, 4, 5, 6}, 1);
  clock_.Advance(absl::Milliseconds(1));
  ASSERT_EQ(servable_->RunOnce(), 2u);
  Submit({7, 8}, 2);
  clock_.Advance(absl::Milliseconds(1));
  ASSERT_EQ(servable_->RunOnce(), 1u);
  const ServableStatistics stats = servable_->statistics();
  EXPECT_EQ(stats.compute_count, 3u);
  EXPECT_EQ(stats.compute_ns, 3u * 5'000'000);
  EXPECT_EQ(stats.compute_input_ns, 0u);
  EXPECT_EQ(stats.compute_output_count, 3u);
  EXPECT_EQ(stats.compute_output_ns, 0u);
  // Queued 1 ms each; the end-to-end time includes the model's 5 ms.
  EXPECT_EQ(stats.queue_ns, 3u * 1'000'000);
  EXPECT_EQ(stats.success_ns, 3u * 6'000'000);
}

TEST_F(ServableModelTest, LoneRequestReachesTheModelWithoutACopy) {
  const char* request_bytes = Submit({1, 2}, 0);
  clock_.Advance(absl::Milliseconds(1));
  ASSERT_EQ(servable_->RunOnce(), 1u);
  EXPECT_THAT(model_->input_pointers(), ElementsAre(request_bytes));
  ASSERT_TRUE(results_[0]->ok());
  EXPECT_THAT(Floats(0), ElementsAre(2, 4));
}

TEST_F(ServableModelTest, ModelErrorFailsOnlyThatBatchWithTheCause) {
  model_->FailNext();
  Submit({1, 2}, 0);
  Submit({3, 4}, 1);
  clock_.Advance(absl::Milliseconds(1));
  servable_->RunOnce();
  for (size_t slot : {0, 1}) {
    ASSERT_TRUE(results_[slot].has_value());
    EXPECT_EQ(results_[slot]->status().code(), absl::StatusCode::kInternal);
    EXPECT_THAT(results_[slot]->status().message(),
                HasSubstr("model double:3 failed: out of cheese"));
  }
  Submit({5, 6}, 2);
  clock_.Advance(absl::Milliseconds(1));
  servable_->RunOnce();
  ASSERT_TRUE(results_[2]->ok());
  EXPECT_THAT(Floats(2), ElementsAre(10, 12));
}

TEST_F(ServableModelTest, OutputWithWrongRowCountIsAnInternalError) {
  model_->ReturnWrongRows();
  Submit({1, 2}, 0);
  clock_.Advance(absl::Milliseconds(1));
  servable_->RunOnce();
  ASSERT_TRUE(results_[0].has_value());
  EXPECT_EQ(results_[0]->status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(results_[0]->status().message(), HasSubstr("output \"y\""));
}

TEST_F(ServableModelTest, InvalidRequestIsAnsweredAtOnceAndNeverRuns) {
  Submit({1, 2, 3}, 0);  // 3 floats cannot be [rows, 2]
  ASSERT_TRUE(results_[0].has_value());
  EXPECT_EQ(results_[0]->status().code(), absl::StatusCode::kInvalidArgument);
  clock_.Advance(absl::Milliseconds(1));
  EXPECT_EQ(servable_->RunOnce(), 0u);
  EXPECT_TRUE(model_->batches().empty());
}

TEST_F(ServableModelTest, DeadlinePassedInQueueIsDeadlineExceededAndNeverRuns) {
  Submit({1, 2}, 0, {}, clock_.Now() + absl::Microseconds(500));
  Submit({3, 4}, 1);
  clock_.Advance(absl::Milliseconds(1));
  EXPECT_EQ(servable_->RunOnce(), 1u);
  EXPECT_EQ(results_[0]->status().code(), absl::StatusCode::kDeadlineExceeded);
  ASSERT_TRUE(results_[1]->ok());
  EXPECT_THAT(model_->batches(), ElementsAre(1));
}

TEST_F(ServableModelTest, RequestPriorityAndTimeoutReachTheQueue) {
  inference::ModelConfig config;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(kConfig, &config));
  auto* dynamic = config.mutable_dynamic_batching();
  dynamic->set_priority_levels(2);
  dynamic->set_default_priority_level(2);
  auto& first = (*dynamic->mutable_priority_queue_policy())[1];
  first.set_default_timeout_microseconds(10000);
  first.set_allow_timeout_override(true);
  Create(config);

  Submit({1, 2}, 0);  // 1 row, the default level 2
  priority_ = 1;
  Submit(std::vector<float>(16, 1), 1);  // 8 rows: a batch of its own
  timeout_ = absl::Microseconds(500);
  Submit({3, 4}, 2);  // level 1, expires after 500 us
  priority_ = 7;
  Submit({5, 6}, 3);
  ASSERT_TRUE(results_[3].has_value());
  EXPECT_EQ(results_[3]->status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(results_[3]->status().message(),
              HasSubstr("model double:3: priority 7 is outside the priority "
                        "levels 1..2"));

  clock_.Advance(absl::Milliseconds(1));
  while (servable_->RunOnce() > 0) {
  }
  EXPECT_EQ(results_[2]->status().code(), absl::StatusCode::kDeadlineExceeded);
  ASSERT_TRUE(results_[0]->ok());
  ASSERT_TRUE(results_[1]->ok());
  // Level 1 first (FIFO it would be the 1-row request first).
  EXPECT_THAT(model_->batches(), ElementsAre(8, 1));
}

TEST_F(ServableModelTest, ClassificationUsesTheOutputsLabels) {
  RequestedOutput top;
  top.name = "y";
  top.classify = true;
  top.classification = 1;
  Submit({1, 5, 4, 2}, 0, {top});
  clock_.Advance(absl::Milliseconds(1));
  servable_->RunOnce();
  ASSERT_TRUE(results_[0]->ok());
  const OutputTensor& out = (*results_[0])->outputs[0];
  EXPECT_EQ(out.datatype, "BYTES");
  EXPECT_THAT(out.shape, ElementsAre(2, 1));
  // Two elements: "10:1:right" and "8:0:left", each length-prefixed.
  EXPECT_EQ(out.data, std::string("\x0a\0\0\0"
                                  "10:1:right",
                                  14) +
                          std::string("\x08\0\0\0"
                                      "8:0:left",
                                      12));
}

TEST_F(ServableModelTest, DestructionAnswersEveryQueuedRequest) {
  Submit({1, 2}, 0);
  Submit({3, 4}, 1);
  servable_.reset();
  ASSERT_TRUE(results_[0].has_value() && results_[0]->ok());
  ASSERT_TRUE(results_[1].has_value() && results_[1]->ok());
}

}  // namespace
}  // namespace inferd
