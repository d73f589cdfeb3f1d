// The deployment contract for the example model: for every row of the iris
// data set the server's answer equals what PyTorch computed eagerly in the
// training script (written by examples/iris/train_export.py into
// <model>/1/validation/), within 1e-5, and the predicted class matches; for
// the TorchScript export ("iris") and the AOTInductor package ("iris_aoti").

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include "tests/test_server.h"

namespace inferd::testing {
namespace {

constexpr int kFeatures = 4;
constexpr int kClasses = 3;

class IrisParityTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (TestModels("good").empty())
      GTEST_FAIL() << "INFERD_TEST_MODELS is not set; run through ctest";
    const std::string dir =
        TestModels("good") + "/" + GetParam() + "/1/validation/";
    features_ = FromRaw<float>(ReadFileOrDie(dir + "features.bin"));
    expected_ = FromRaw<float>(ReadFileOrDie(dir + "probabilities.bin"));
    // The class eager PyTorch predicted: the highest probability.
    rows_ = static_cast<int>(expected_.size() / kClasses);
    for (int row = 0; row < rows_; ++row) {
      const auto begin = expected_.begin() + row * kClasses;
      predicted_.push_back(std::max_element(begin, begin + kClasses) - begin);
    }
    ASSERT_EQ(rows_, 150);
    ASSERT_EQ(features_.size(), static_cast<size_t>(rows_ * kFeatures));
    ASSERT_EQ(expected_.size(), static_cast<size_t>(rows_ * kClasses));
    server_ = TestServer::Start(TestModels("good"));
    ASSERT_NE(server_, nullptr);
  }

  // Sends rows [first, first + count) in one request; returns probabilities.
  std::vector<float> Classify(int first, int count) {
    inference::ModelInferRequest request;
    request.set_model_name(GetParam());
    std::vector<float> rows(features_.begin() + first * kFeatures,
                            features_.begin() + (first + count) * kFeatures);
    AddRawInput(&request, "features", "FP32", {count, kFeatures},
                RawBytes(rows));
    inference::ModelInferResponse response;
    grpc::ClientContext context;
    grpc::Status status =
        server_->stub().ModelInfer(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    if (!status.ok()) return {};
    return FromRaw<float>(response.raw_output_contents(0));
  }

  void ExpectRowsMatch(int first, const std::vector<float>& got) {
    ASSERT_EQ(got.size() % kClasses, 0u);
    for (size_t r = 0; r < got.size() / kClasses; ++r) {
      const int row = first + static_cast<int>(r);
      for (int c = 0; c < kClasses; ++c) {
        EXPECT_NEAR(got[r * kClasses + c], expected_[row * kClasses + c], 1e-5)
            << "row " << row << " class " << c;
      }
      const auto begin = got.begin() + r * kClasses;
      EXPECT_EQ(std::max_element(begin, begin + kClasses) - begin,
                predicted_[row])
          << "row " << row;
    }
  }

  std::vector<float> features_, expected_;
  std::vector<int64_t> predicted_;
  int rows_ = 0;
  std::unique_ptr<TestServer> server_;
};

TEST_P(IrisParityTest, EveryRowAloneMatchesEagerPyTorch) {
  for (int row = 0; row < rows_; ++row) ExpectRowsMatch(row, Classify(row, 1));
}

TEST_P(IrisParityTest, MultiRowRequestsMatchEagerPyTorch) {
  for (int first = 0; first < rows_; first += 50) {
    ExpectRowsMatch(first, Classify(first, 50));
  }
}

TEST_P(IrisParityTest, ConcurrentRequestsBatchedTogetherMatchEagerPyTorch) {
  // Six clients each send their share of rows one at a time; the server
  // batches whatever arrives together.
  std::vector<std::thread> clients;
  std::vector<std::vector<float>> answers(rows_);
  for (int client = 0; client < 6; ++client) {
    clients.emplace_back([&, client] {
      for (int row = client; row < rows_; row += 6)
        answers[row] = Classify(row, 1);
    });
  }
  for (std::thread& t : clients) t.join();
  for (int row = 0; row < rows_; ++row) ExpectRowsMatch(row, answers[row]);
}

INSTANTIATE_TEST_SUITE_P(Formats, IrisParityTest,
                         ::testing::Values("iris", "iris_aoti"));

}  // namespace
}  // namespace inferd::testing
