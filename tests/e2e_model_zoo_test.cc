// The models people export today, served: an MLP, a CNN with BatchNorm and
// Dropout, a TransformerEncoderLayer classifier and a model calling
// F.scaled_dot_product_attention, each as scripted TorchScript, traced
// TorchScript and a torch.export + AOTInductor package, all exported by the
// pinned PyTorch (tests/make_model_zoo.py). Each loads and passes its
// validation gate (made from the eager model's outputs), and answers over
// gRPC within tolerance of eager PyTorch, alone and batched with other
// clients' requests.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <thread>

#include "tests/test_server.h"

namespace inferd::testing {
namespace {

// The exported models compute what eager PyTorch does up to float rounding
// in another order of operations (AOTInductor's fused kernels, other batch
// sizes): the largest difference from eager measured on these models was
// 6e-8, in PyTorch on the same files, 8 rows together and one at a time.
// 1e-5 is the bound for every model; no model needed a looser one.
constexpr float kTolerance = 1e-5;

class ModelZooTest : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() {
    if (TestModels("zoo").empty()) return;
    server_ = TestServer::Start(TestModels("zoo")).release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  void SetUp() override {
    if (TestModels("zoo").empty())
      GTEST_FAIL() << "INFERD_TEST_MODELS is not set; run through ctest";
    ASSERT_NE(server_, nullptr);
    const std::string dir =
        TestModels("zoo") + "/" + GetParam() + "/1/validation/";
    inputs_ = FromRaw<float>(ReadFileOrDie(dir + "INPUT__0.bin"));
    expected_ = FromRaw<float>(ReadFileOrDie(dir + "OUTPUT__0.bin"));
    inference::ModelMetadataRequest request;
    request.set_name(GetParam());
    inference::ModelMetadataResponse metadata;
    grpc::ClientContext context;
    ASSERT_TRUE(
        server_->stub().ModelMetadata(&context, request, &metadata).ok());
    input_shape_.assign(metadata.inputs(0).shape().begin() + 1,
                        metadata.inputs(0).shape().end());
    for (int64_t d : input_shape_) row_in_ *= d;
    rows_ = static_cast<int>(inputs_.size() / row_in_);
    row_out_ = static_cast<int>(expected_.size() / rows_);
  }

  // Sends rows [first, first + count) in one request; returns the outputs.
  std::vector<float> Infer(int first, int count) {
    inference::ModelInferRequest request;
    request.set_model_name(GetParam());
    std::vector<int64_t> shape = {count};
    shape.insert(shape.end(), input_shape_.begin(), input_shape_.end());
    std::vector<float> rows(inputs_.begin() + first * row_in_,
                            inputs_.begin() + (first + count) * row_in_);
    AddRawInput(&request, "INPUT__0", "FP32", shape, RawBytes(rows));
    inference::ModelInferResponse response;
    grpc::ClientContext context;
    grpc::Status status =
        server_->stub().ModelInfer(&context, request, &response);
    EXPECT_TRUE(status.ok()) << GetParam() << ": " << status.error_message();
    if (!status.ok()) return {};
    return FromRaw<float>(response.raw_output_contents(0));
  }

  void ExpectRowsMatch(int first, const std::vector<float>& got) {
    ASSERT_EQ(got.size() % row_out_, 0u);
    ASSERT_GT(got.size(), 0u);
    for (size_t i = 0; i < got.size(); ++i) {
      const size_t at = first * row_out_ + i;
      EXPECT_NEAR(got[i], expected_[at], kTolerance)
          << GetParam() << " row " << at / row_out_ << " value "
          << at % row_out_;
    }
  }

  static TestServer* server_;
  std::vector<float> inputs_, expected_;
  std::vector<int64_t> input_shape_;
  int64_t row_in_ = 1;
  int rows_ = 0;
  int row_out_ = 0;
};

TestServer* ModelZooTest::server_ = nullptr;

TEST_P(ModelZooTest, IsReadyAfterPassingItsValidationGate) {
  inference::ModelReadyRequest request;
  request.set_name(GetParam());
  inference::ModelReadyResponse response;
  grpc::ClientContext context;
  ASSERT_TRUE(server_->stub().ModelReady(&context, request, &response).ok());
  EXPECT_TRUE(response.ready()) << GetParam();
}

TEST_P(ModelZooTest, AllRowsInOneRequestMatchEager) {
  ExpectRowsMatch(0, Infer(0, rows_));
}

TEST_P(ModelZooTest, RowsAloneMatchEager) {
  for (int row = 0; row < rows_; ++row) ExpectRowsMatch(row, Infer(row, 1));
}

TEST_P(ModelZooTest, RowsBatchedWithOtherClientsMatchEager) {
  // One client per row, several rounds: the server batches whatever arrives
  // within its queue delay.
  for (int round = 0; round < 5; ++round) {
    std::vector<std::vector<float>> answers(rows_);
    std::vector<std::thread> clients;
    for (int row = 0; row < rows_; ++row) {
      clients.emplace_back([&, row] { answers[row] = Infer(row, 1); });
    }
    for (std::thread& t : clients) t.join();
    for (int row = 0; row < rows_; ++row) ExpectRowsMatch(row, answers[row]);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Exports, ModelZooTest,
    ::testing::Values("mlp_script", "mlp_traced", "mlp_aoti", "cnn_script",
                      "cnn_traced", "cnn_aoti", "transformer_script",
                      "transformer_traced", "transformer_aoti",
                      "attention_script", "attention_traced",
                      "attention_aoti"));

}  // namespace
}  // namespace inferd::testing
