// Concurrency through the real gRPC server with a fake model: many calls in
// flight are held without a thread each, batched, and each answered with its
// own rows; a full queue refuses at once.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "tests/test_server.h"

namespace inferd::testing {
namespace {

int CountThreads() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("Threads:", 0) == 0) return std::stoi(line.substr(8));
  }
  return -1;
}

// Returns x + 1 for FP32 x [rows, 1]. After Arm(), the next batch notifies
// `started` (having counted the process's threads) and waits for `release`.
class GatedModel : public Model {
 public:
  absl::StatusOr<std::vector<Tensor>> Execute(
      int, const std::vector<Tensor>& inputs) override {
    const int64_t rows = inputs[0].shape[0];
    bool gate = false;
    {
      absl::MutexLock lock(&mu_);
      gate = armed_;
      armed_ = false;
      batches_.push_back(rows);
    }
    if (gate) {
      threads_in_gated_batch = CountThreads();
      started.Notify();
      release.WaitForNotification();
    }
    auto values = std::make_shared<std::vector<float>>(rows);
    const float* in = reinterpret_cast<const float*>(inputs[0].data);
    for (int64_t i = 0; i < rows; ++i) (*values)[i] = in[i] + 1;
    Tensor out;
    out.dtype = inference::TYPE_FP32;
    out.shape = {rows, 1};
    out.data = reinterpret_cast<const char*>(values->data());
    out.byte_size = rows * 4;
    out.owner = values;
    return std::vector<Tensor>{out};
  }

  void Arm() {
    absl::MutexLock lock(&mu_);
    armed_ = true;
  }

  std::vector<int64_t> batches() {
    absl::MutexLock lock(&mu_);
    return batches_;
  }

  absl::Notification started;
  absl::Notification release;
  int threads_in_gated_batch = 0;  // written before `started` is notified

 private:
  absl::Mutex mu_;
  bool armed_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<int64_t> batches_ ABSL_GUARDED_BY(mu_);
};

class GatedLoader : public ModelLoader {
 public:
  absl::StatusOr<std::unique_ptr<Model>> Load(const inference::ModelConfig&,
                                              const std::string&) override {
    auto model = std::make_unique<GatedModel>();
    model_ = model.get();
    return model;
  }
  GatedModel* model_ = nullptr;
};

// A repository holding one model "gated" with the given batching config.
std::string MakeRepository(const std::string& name, int max_batch_size,
                           const std::string& batching) {
  const std::string root = ::testing::TempDir() + "/inferd_" + name;
  std::filesystem::remove_all(root);
  std::filesystem::create_directories(root + "/gated/1");
  // A version directory holds at least one file (GatedLoader reads none).
  std::ofstream(root + "/gated/1/model.pt") << "gated";
  std::ofstream(root + "/gated/config.pbtxt")
      << "max_batch_size: " << max_batch_size << "\n"
      << "input { name: \"x\" data_type: TYPE_FP32 dims: [ 1 ] }\n"
         "output { name: \"y\" data_type: TYPE_FP32 dims: [ 1 ] }\n"
      << batching;
  return root;
}

struct AsyncCall {
  grpc::ClientContext context;
  inference::ModelInferResponse response;
  grpc::Status status;
  std::unique_ptr<
      grpc::ClientAsyncResponseReader<inference::ModelInferResponse>>
      reader;
};

// Sends single-row requests x = first .. first + count - 1 asynchronously.
void SendAll(TestServer& server, grpc::CompletionQueue* queue, int first,
             int count, std::vector<std::unique_ptr<AsyncCall>>* calls) {
  for (int i = first; i < first + count; ++i) {
    inference::ModelInferRequest request;
    request.set_model_name("gated");
    AddRawInput(&request, "x", "FP32", {1, 1},
                RawBytes(std::vector<float>{static_cast<float>(i)}));
    auto call = std::make_unique<AsyncCall>();
    call->reader =
        server.stub().AsyncModelInfer(&call->context, request, queue);
    call->reader->Finish(&call->response, &call->status, call.get());
    calls->push_back(std::move(call));
  }
}

AsyncCall* NextCompletion(grpc::CompletionQueue* queue) {
  void* tag = nullptr;
  bool ok = false;
  EXPECT_TRUE(queue->Next(&tag, &ok));
  EXPECT_TRUE(ok);
  return static_cast<AsyncCall*>(tag);
}

void Drain(grpc::CompletionQueue* queue) {
  queue->Shutdown();
  void* tag = nullptr;
  bool ok = false;
  while (queue->Next(&tag, &ok)) {
  }
}

TEST(ConcurrencyTest, ThousandCallsInFlightAreHeldByFewThreadsAndBatchedOnce) {
  GatedLoader loader;
  // The batch only runs once it has 1000 rows (a fixed delay of ten
  // minutes), so when the model runs, all 1000 calls are in flight inside
  // the server.
  auto server = TestServer::Start(
      MakeRepository("thousand", 1000,
                     "dynamic_batching { max_queue_delay_microseconds: "
                     "600000000 }\n"
                     "parameters { key: \"INFERD_QUEUE_DELAY\" value: { "
                     "string_value: \"fixed\" } }\n"),
      &loader);
  ASSERT_NE(server, nullptr);
  GatedModel* model = loader.model_;
  const int threads_before = CountThreads();
  model->Arm();

  grpc::CompletionQueue queue;
  constexpr int kCalls = 1000;
  std::vector<std::unique_ptr<AsyncCall>> calls;
  SendAll(*server, &queue, 0, kCalls, &calls);
  model->started.WaitForNotification();
  // A thread per call would add 1000; gRPC's and the scheduler's pools are
  // sized by cores, not by calls.
  EXPECT_LT(model->threads_in_gated_batch, threads_before + 64)
      << "threads before: " << threads_before;
  model->release.Notify();

  for (int done = 0; done < kCalls; ++done) NextCompletion(&queue);
  for (int i = 0; i < kCalls; ++i) {
    ASSERT_TRUE(calls[i]->status.ok()) << calls[i]->status.error_message();
    EXPECT_THAT(FromRaw<float>(calls[i]->response.raw_output_contents(0)),
                ::testing::ElementsAre(static_cast<float>(i + 1)))
        << "call " << i;
  }
  // The warm-up batch at load (1 row), then every call in one batch.
  EXPECT_THAT(model->batches(), ::testing::ElementsAre(1, kCalls));
  Drain(&queue);
}

TEST(ConcurrencyTest, FullQueueRefusesAtOnceWithResourceExhausted) {
  GatedLoader loader;
  auto server = TestServer::Start(
      MakeRepository("full", 1,
                     "dynamic_batching { max_queue_delay_microseconds: 0 "
                     "default_queue_policy { max_queue_size: 2 } }\n"),
      &loader);
  ASSERT_NE(server, nullptr);
  GatedModel* model = loader.model_;
  model->Arm();

  grpc::CompletionQueue queue;
  std::vector<std::unique_ptr<AsyncCall>> calls;
  SendAll(*server, &queue, 0, 1, &calls);  // A: executes, held at the gate
  model->started.WaitForNotification();
  SendAll(*server, &queue, 1, 3, &calls);  // B, C, D: two fit in the queue

  // With A held, the only call that can finish is the one refused.
  AsyncCall* refused = NextCompletion(&queue);
  EXPECT_EQ(refused->status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(refused->status.error_message(),
              ::testing::HasSubstr("queue is full (2 requests waiting)"));
  model->release.Notify();
  for (int done = 0; done < 3; ++done) {
    AsyncCall* call = NextCompletion(&queue);
    EXPECT_TRUE(call->status.ok()) << call->status.error_message();
  }
  Drain(&queue);
}

}  // namespace
}  // namespace inferd::testing
