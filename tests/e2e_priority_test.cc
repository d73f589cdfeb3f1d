// Triton's schedule policy end to end: request parameters `priority` and
// `timeout` through the real gRPC server, on the real TorchScript model
// "priority" of tests/make_test_models.py (y = x + 1; levels 1..3, default
// 2; level 3 holds 4 requests; level 1 allows a shorter timeout). The
// model's execution is held at a gate while the test builds its queue, and
// each step waits for the queue to reach its depth, so what the test
// asserts does not depend on timing.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/gated_model.h"
#include "tests/test_server.h"

namespace inferd::testing {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Bound on every wait: turns a hang into a failure, asserts no speed.
constexpr absl::Duration kHangGuard = absl::Seconds(60);

struct AsyncCall {
  float x = 0;
  grpc::ClientContext context;
  inference::ModelInferResponse response;
  grpc::Status status;
  std::unique_ptr<
      grpc::ClientAsyncResponseReader<inference::ModelInferResponse>>
      reader;
};

// Request x (one row), with the parameters that are set.
inference::ModelInferRequest Request(float x, std::optional<int64_t> priority,
                                     std::optional<int64_t> timeout_us) {
  inference::ModelInferRequest request;
  request.set_model_name("priority");
  AddRawInput(&request, "x", "FP32", {1, 1}, RawBytes(std::vector<float>{x}));
  if (priority) {
    (*request.mutable_parameters())["priority"].set_int64_param(*priority);
  }
  if (timeout_us) {
    (*request.mutable_parameters())["timeout"].set_int64_param(*timeout_us);
  }
  return request;
}

class PriorityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string models = TestModels("good");
    if (models.empty()) {
      GTEST_FAIL() << "INFERD_TEST_MODELS is not set; run through ctest";
    }
    // The one model alone, so that the server loads nothing else; a
    // directory of this process's own (ctest runs each case in a process of
    // its own, several at once).
    root_ = absl::StrCat(
        ::testing::TempDir(), "/inferd_priority_", getpid(), "_",
        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(root_);
    std::filesystem::create_directories(root_);
    std::filesystem::copy(models + "/priority", root_ + "/priority",
                          std::filesystem::copy_options::recursive);
    server_ = TestServer::Start(root_, &loader_);
    ASSERT_NE(server_, nullptr);
    ASSERT_NE(loader_.model_, nullptr);
    loader_.model_->Clear();
    absl::StatusOr<std::shared_ptr<ServableModel>> servable =
        server_->repository().Get("priority", "");
    ASSERT_TRUE(servable.ok()) << servable.status();
    servable_ = *servable;
  }

  void TearDown() override {
    if (loader_.model_ != nullptr &&
        !loader_.model_->release.HasBeenNotified()) {
      loader_.model_->release.Notify();
    }
    servable_.reset();
    server_.reset();
    queue_.Shutdown();
    void* tag = nullptr;
    bool ok = false;
    while (queue_.Next(&tag, &ok)) {
    }
    if (!root_.empty()) std::filesystem::remove_all(root_);
  }

  GatedModel& model() { return *loader_.model_; }

  // Sends asynchronously; the answer arrives on queue_.
  AsyncCall* Send(float x, std::optional<int64_t> priority,
                  std::optional<int64_t> timeout_us = std::nullopt) {
    auto call = std::make_unique<AsyncCall>();
    call->x = x;
    call->reader = server_->stub().AsyncModelInfer(
        &call->context, Request(x, priority, timeout_us), &queue_);
    call->reader->Finish(&call->response, &call->status, call.get());
    calls_.push_back(std::move(call));
    return calls_.back().get();
  }

  // Sends, then waits until the request waits in the queue as the
  // `depth`-th.
  AsyncCall* SendQueued(float x, std::optional<int64_t> priority, size_t depth,
                        std::optional<int64_t> timeout_us = std::nullopt) {
    AsyncCall* call = Send(x, priority, timeout_us);
    EXPECT_TRUE(servable_->AwaitQueueDepth(depth, kHangGuard))
        << "queue never reached " << depth << " requests";
    return call;
  }

  // The next answered call; fails the test (null) when none comes.
  AsyncCall* Next() {
    void* tag = nullptr;
    bool ok = false;
    const auto status = queue_.AsyncNext(
        &tag, &ok, absl::ToChronoTime(absl::Now() + kHangGuard));
    EXPECT_EQ(status, grpc::CompletionQueue::GOT_EVENT) << "no answer came";
    EXPECT_TRUE(ok);
    return status == grpc::CompletionQueue::GOT_EVENT
               ? static_cast<AsyncCall*>(tag)
               : nullptr;
  }

  // Holds the model with request x = 0 (priority 3) executing.
  void HoldTheModel() {
    model().Arm();
    Send(0, 3);
    ASSERT_TRUE(model().started.WaitForNotificationWithTimeout(kHangGuard));
  }

  std::string root_;  // the test's repository
  GatedLoader loader_;
  std::unique_ptr<TestServer> server_;
  std::shared_ptr<ServableModel> servable_;
  grpc::CompletionQueue queue_;
  std::vector<std::unique_ptr<AsyncCall>> calls_;
};

TEST_F(PriorityTest, HigherPriorityQueuedBehindAFullLevelIsAnsweredFirst) {
  ASSERT_NO_FATAL_FAILURE(HoldTheModel());
  // Level 3 fills up (4 requests), FIFO.
  for (int i = 1; i <= 4; ++i) SendQueued(i, 3, i);
  // One more at level 3 is refused at once: the only call that can finish.
  AsyncCall* refused = Send(5, 3);
  ASSERT_EQ(Next(), refused);
  EXPECT_EQ(refused->status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(refused->status.error_message(),
              HasSubstr("priority level 3: queue is full (4 requests "
                        "waiting)"));
  // Without a priority: the default level, 2. Then one at level 1.
  SendQueued(6, std::nullopt, 5);
  SendQueued(7, 1, 6);

  model().release.Notify();
  for (int done = 0; done < 7; ++done) {
    AsyncCall* call = Next();
    ASSERT_NE(call, nullptr);
    ASSERT_TRUE(call->status.ok())
        << "x = " << call->x << ": " << call->status.error_message();
    EXPECT_THAT(FromRaw<float>(call->response.raw_output_contents(0)),
                ElementsAre(call->x + 1));
  }
  // The held one, then level 1, level 2 (the default), then level 3 in
  // arrival order.
  EXPECT_THAT(model().executed(), ElementsAre(0, 7, 6, 1, 2, 3, 4));
}

TEST_F(PriorityTest, PriorityZeroMeansTheDefaultLevel) {
  ASSERT_NO_FATAL_FAILURE(HoldTheModel());
  SendQueued(1, 3, 1);
  SendQueued(2, 0, 2);  // 0: the default level 2, ahead of level 3
  SendQueued(3, 2, 3);  // level 2, behind the other level-2 request
  model().release.Notify();
  for (int done = 0; done < 4; ++done) {
    AsyncCall* call = Next();
    ASSERT_NE(call, nullptr);
    EXPECT_TRUE(call->status.ok()) << call->status.error_message();
  }
  EXPECT_THAT(model().executed(), ElementsAre(0, 2, 3, 1));
}

TEST_F(PriorityTest, PriorityOutsideTheLevelsIsRefusedWithTheRange) {
  inference::ModelInferResponse response;
  grpc::ClientContext context;
  const grpc::Status status =
      server_->stub().ModelInfer(&context, Request(1, 9, {}), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(),
              AllOf(HasSubstr("priority 9 is outside the priority levels "
                              "1..3"),
                    HasSubstr("default level 2")));
  EXPECT_TRUE(model().executed().empty());
}

TEST_F(PriorityTest, PriorityOfTheWrongTypeIsRefusedNamingTheType) {
  inference::ModelInferRequest request = Request(1, {}, {});
  (*request.mutable_parameters())["priority"].set_string_param("high");
  inference::ModelInferResponse response;
  grpc::ClientContext context;
  const grpc::Status status =
      server_->stub().ModelInfer(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(),
              HasSubstr("parameter \"priority\": expected int64_param or "
                        "uint64_param, got string_param"));
}

TEST_F(PriorityTest, RequestTimeoutExpiresWhileQueuedAndNeverRuns) {
  ASSERT_NO_FATAL_FAILURE(HoldTheModel());
  // Level 1 allows a request to shorten its 60 s timeout; 1 ms here.
  AsyncCall* expiring = SendQueued(1, 1, 1, /*timeout_us=*/1000);
  // It was queued before now: let its millisecond pass on the clock the
  // server reads (the wall clock).
  const absl::Time expired = absl::Now() + absl::Milliseconds(1);
  while (absl::Now() < expired) absl::SleepFor(expired - absl::Now());
  SendQueued(2, 3, 2);
  model().release.Notify();
  for (int done = 0; done < 3; ++done) {
    AsyncCall* call = Next();
    ASSERT_NE(call, nullptr);
    if (call == expiring) {
      EXPECT_EQ(call->status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
      EXPECT_THAT(call->status.error_message(),
                  HasSubstr("request timeout expired"));
    } else {
      EXPECT_TRUE(call->status.ok()) << call->status.error_message();
    }
  }
  EXPECT_THAT(model().executed(), ElementsAre(0, 2));
}

}  // namespace
}  // namespace inferd::testing
