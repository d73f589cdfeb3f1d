// ModelStreamInfer end to end: a real server on a free port, requests on
// bidirectional streams. With the real test models: answers in request
// order equal to ModelInfer's, failed requests answered in place, streams
// and unary calls sharing a model. With a fake model whose batches the test
// controls: the in-flight bound, batching with unary calls, cancelled and
// dropped clients, deadlines, slow readers and shutdown with open streams.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "service/stream_infer.h"
#include "tests/test_server.h"

namespace inferd::testing {
namespace {

using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using Stream = grpc::ClientReaderWriter<inference::ModelInferRequest,
                                        inference::ModelStreamInferResponse>;

// Waits until `done()` holds, checking every 5 ms; false after `timeout` (a
// bound for a broken build, not a delay). Used only for what no client is
// told: how far the server has read a stream (queue depth), and when it has
// accounted requests it dropped.
bool Eventually(const std::function<bool()>& done,
                absl::Duration timeout = absl::Seconds(60)) {
  const absl::Time give_up = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() > give_up) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

// The value of one series (`name{labels}`) in the metrics text; 0 if absent.
double Series(const std::string& text, const std::string& series) {
  const std::string prefix = series + " ";
  size_t at = text.find(prefix);
  while (at != std::string::npos && at != 0 && text[at - 1] != '\n') {
    at = text.find(prefix, at + 1);
  }
  if (at == std::string::npos) return 0;
  return std::stod(text.substr(at + prefix.size()));
}

std::string RequestsSeries(const std::string& model, const std::string& version,
                           const std::string& code) {
  return absl::StrCat("inferd_requests_total{code=\"", code, "\",model=\"",
                      model, "\",protocol=\"grpc\",version=\"", version, "\"}");
}

struct Counts {
  uint64_t success = 0;
  uint64_t fail = 0;
  uint64_t inferences = 0;
};

// ModelStatistics of `model`'s served version.
Counts Statistics(TestServer& server, const std::string& model) {
  grpc::ClientContext context;
  inference::ModelStatisticsRequest request;
  request.set_name(model);
  inference::ModelStatisticsResponse response;
  grpc::Status status =
      server.stub().ModelStatistics(&context, request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  Counts counts;
  for (const auto& stats : response.model_stats()) {
    counts.success += stats.inference_stats().success().count();
    counts.fail += stats.inference_stats().fail().count();
    counts.inferences += stats.inference_count();
  }
  return counts;
}

// Writes `requests` on `stream` from a thread of its own, then half-closes,
// while the test reads. The destructor cancels the call (harmless once it
// finished) so that a test that fails early never waits on a blocked write.
class Writer {
 public:
  Writer(grpc::ClientContext* context, Stream* stream,
         std::vector<inference::ModelInferRequest> requests)
      : context_(context),
        requests_(std::move(requests)),
        thread_([this, stream] {
          for (const auto& request : requests_) {
            if (!stream->Write(request)) return;
          }
          stream->WritesDone();
        }) {}
  ~Writer() {
    context_->TryCancel();
    thread_.join();
  }

 private:
  grpc::ClientContext* const context_;
  const std::vector<inference::ModelInferRequest> requests_;
  std::thread thread_;
};

// ---------------------------------------------------------------------------
// The real test models.

class StreamTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (TestModels("good").empty()) return;
    server_ = TestServer::Start(TestModels("good")).release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    if (server_ == nullptr)
      GTEST_FAIL() << "INFERD_TEST_MODELS is not set; run through ctest";
  }

  // `rows` iris rows, different for each `seed`, within the data's ranges.
  static inference::ModelInferRequest IrisRequest(const std::string& id,
                                                  int seed, int rows) {
    std::vector<float> values;
    for (int r = 0; r < rows; ++r) {
      for (int c = 0; c < 4; ++c) {
        values.push_back(0.1f +
                         static_cast<float>((seed * 7 + r * 13 + c * 5) % 70) /
                             10.0f);
      }
    }
    inference::ModelInferRequest request;
    request.set_model_name("iris");
    request.set_id(id);
    AddRawInput(&request, "features", "FP32", {rows, 4}, RawBytes(values));
    return request;
  }

  static inference::ModelInferResponse Unary(
      const inference::ModelInferRequest& request) {
    grpc::ClientContext context;
    inference::ModelInferResponse response;
    grpc::Status status =
        server_->stub().ModelInfer(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  // Expects `answer` to be a success equal to `expected` (ModelInfer's),
  // within float rounding of a different batch.
  static void ExpectSameAnswer(
      const inference::ModelStreamInferResponse& answer,
      const inference::ModelInferResponse& expected) {
    ASSERT_EQ(answer.error_message(), "") << expected.id();
    const inference::ModelInferResponse& got = answer.infer_response();
    EXPECT_EQ(got.id(), expected.id());
    EXPECT_EQ(got.model_name(), "iris");
    EXPECT_EQ(got.model_version(), "1");
    ASSERT_EQ(got.outputs_size(), 1);
    EXPECT_THAT(got.outputs(0).shape(),
                ElementsAreArray(expected.outputs(0).shape()));
    std::vector<float> values = FromRaw<float>(got.raw_output_contents(0));
    std::vector<float> want = FromRaw<float>(expected.raw_output_contents(0));
    ASSERT_EQ(values.size(), want.size());
    for (size_t i = 0; i < values.size(); ++i) {
      EXPECT_NEAR(values[i], want[i], 1e-5) << expected.id() << "[" << i << "]";
    }
  }

  static TestServer* server_;
};

TestServer* StreamTest::server_ = nullptr;

TEST_F(StreamTest, HundredRequestsAreAnsweredInOrderAsModelInferAnswersThem) {
  constexpr int kRequests = 100;
  std::vector<inference::ModelInferRequest> requests;
  std::vector<inference::ModelInferResponse> expected;
  for (int i = 0; i < kRequests; ++i) {
    requests.push_back(IrisRequest(absl::StrCat("req-", i), i, 1 + i % 3));
    expected.push_back(Unary(requests.back()));
  }
  const Counts before = Statistics(*server_, "iris");

  grpc::ClientContext context;
  std::unique_ptr<Stream> stream = server_->stub().ModelStreamInfer(&context);
  {
    Writer writer(&context, stream.get(), requests);
    for (int i = 0; i < kRequests; ++i) {
      inference::ModelStreamInferResponse answer;
      ASSERT_TRUE(stream->Read(&answer)) << "answer " << i;
      ExpectSameAnswer(answer, expected[i]);
    }
    inference::ModelStreamInferResponse extra;
    EXPECT_FALSE(stream->Read(&extra));
    grpc::Status status = stream->Finish();
    EXPECT_TRUE(status.ok()) << status.error_message();
  }
  // Accounted like ModelInfer calls: one success each, every row inferred.
  const Counts after = Statistics(*server_, "iris");
  EXPECT_EQ(after.success - before.success, static_cast<uint64_t>(kRequests));
  EXPECT_EQ(after.fail, before.fail);
  EXPECT_EQ(after.inferences - before.inferences, 199u);  // 1+2+3+1+2+3...
}

TEST_F(StreamTest, AFailedRequestIsAnsweredInItsPlaceAndTheStreamGoesOn) {
  std::vector<inference::ModelInferRequest> requests;
  std::vector<inference::ModelInferResponse> expected;
  for (int i = 0; i < 30; ++i) {
    requests.push_back(IrisRequest(absl::StrCat("req-", i), i, 1));
    expected.push_back(Unary(requests.back()));
  }
  requests[10].set_model_name("no_such_model");
  requests[20].mutable_inputs(0)->set_shape(1, 5);  // 4 features expected
  requests[20].set_raw_input_contents(
      0, RawBytes(std::vector<float>{1, 2, 3, 4, 5}));
  // A model that fails at run time (INTERNAL), on the same stream.
  requests[25].set_model_name("thrower");
  requests[25].mutable_inputs(0)->set_name("x");
  requests[25].mutable_inputs(0)->set_shape(1, 2);
  requests[25].set_raw_input_contents(0, RawBytes(std::vector<float>{-1, 2}));
  const std::string before = metrics::Exposition(server_->metrics());

  grpc::ClientContext context;
  std::unique_ptr<Stream> stream = server_->stub().ModelStreamInfer(&context);
  Writer writer(&context, stream.get(), requests);
  for (int i = 0; i < 30; ++i) {
    inference::ModelStreamInferResponse answer;
    ASSERT_TRUE(stream->Read(&answer)) << "answer " << i;
    const inference::ModelInferResponse& echo = answer.infer_response();
    if (i == 10) {
      EXPECT_THAT(answer.error_message(),
                  HasSubstr("unknown model \"no_such_model\""));
      EXPECT_EQ(echo.id(), "req-10");
      EXPECT_EQ(echo.model_name(), "no_such_model");
      EXPECT_EQ(echo.outputs_size(), 0);
    } else if (i == 20) {
      EXPECT_THAT(answer.error_message(),
                  HasSubstr("input \"features\": expected shape [-1,4], got "
                            "[1,5]"));
      EXPECT_EQ(echo.id(), "req-20");
      EXPECT_EQ(echo.model_name(), "iris");
    } else if (i == 25) {
      EXPECT_THAT(answer.error_message(),
                  HasSubstr("negative input not allowed"));
      EXPECT_EQ(echo.id(), "req-25");
      EXPECT_EQ(echo.model_name(), "thrower");
    } else {
      ExpectSameAnswer(answer, expected[i]);
    }
  }
  grpc::Status status = stream->Finish();
  EXPECT_TRUE(status.ok()) << status.error_message();

  // Counted as ModelInfer counts them: the unknown model under model="".
  const std::string after = metrics::Exposition(server_->metrics());
  for (const auto& [series, added] :
       std::vector<std::pair<std::string, double>>{
           {RequestsSeries("", "", "NOT_FOUND"), 1},
           {RequestsSeries("iris", "1", "INVALID_ARGUMENT"), 1},
           {RequestsSeries("thrower", "1", "INTERNAL"), 1},
           {RequestsSeries("iris", "1", "OK"), 27}}) {
    EXPECT_EQ(Series(after, series) - Series(before, series), added) << series;
  }
}

TEST_F(StreamTest, ConcurrentStreamsAndUnaryCallsShareTheModel) {
  constexpr int kStreams = 4;
  constexpr int kUnaryThreads = 2;
  constexpr int kPerClient = 50;
  // A few distinct inputs, answered once by ModelInfer first.
  std::vector<inference::ModelInferRequest> inputs;
  std::vector<inference::ModelInferResponse> expected;
  for (int k = 0; k < 7; ++k) {
    inputs.push_back(IrisRequest(absl::StrCat("in-", k), k, 1 + k % 2));
    expected.push_back(Unary(inputs.back()));
  }
  const Counts before = Statistics(*server_, "iris");

  auto run_stream = [&](int client) {
    grpc::ClientContext context;
    std::unique_ptr<Stream> stream = server_->stub().ModelStreamInfer(&context);
    std::vector<inference::ModelInferRequest> requests;
    for (int i = 0; i < kPerClient; ++i) {
      requests.push_back(inputs[(client + i) % inputs.size()]);
      requests.back().set_id(absl::StrCat(client, "-", i));
    }
    Writer writer(&context, stream.get(), requests);
    for (int i = 0; i < kPerClient; ++i) {
      inference::ModelStreamInferResponse answer;
      ASSERT_TRUE(stream->Read(&answer)) << client << "-" << i;
      inference::ModelInferResponse want =
          expected[(client + i) % inputs.size()];
      want.set_id(absl::StrCat(client, "-", i));
      ExpectSameAnswer(answer, want);
    }
    grpc::Status status = stream->Finish();
    EXPECT_TRUE(status.ok()) << status.error_message();
  };
  auto run_unary = [&](int client) {
    for (int i = 0; i < kPerClient; ++i) {
      const size_t k = (client + i) % inputs.size();
      inference::ModelInferResponse got = Unary(inputs[k]);
      EXPECT_EQ(got.raw_output_contents_size(), 1);
      std::vector<float> values = FromRaw<float>(got.raw_output_contents(0));
      std::vector<float> want =
          FromRaw<float>(expected[k].raw_output_contents(0));
      ASSERT_EQ(values.size(), want.size());
      for (size_t j = 0; j < values.size(); ++j) {
        EXPECT_NEAR(values[j], want[j], 1e-5);
      }
    }
  };
  std::vector<std::thread> clients;
  for (int c = 0; c < kStreams; ++c) clients.emplace_back(run_stream, c);
  for (int c = 0; c < kUnaryThreads; ++c) {
    clients.emplace_back(run_unary, kStreams + c);
  }
  for (std::thread& client : clients) client.join();

  const Counts after = Statistics(*server_, "iris");
  EXPECT_EQ(after.success - before.success,
            static_cast<uint64_t>((kStreams + kUnaryThreads) * kPerClient));
  EXPECT_EQ(after.fail, before.fail);
}

// ---------------------------------------------------------------------------
// A fake model: y = x + 1 for FP32 "x" and "y" of the config's shape. It
// records the first element of every row of every batch it runs. After
// Arm(), its next batch notifies `entered` and waits for `release`.

class PlusOneModel : public Model {
 public:
  absl::StatusOr<std::vector<Tensor>> Execute(
      int, const std::vector<Tensor>& inputs) override {
    bool gate = false;
    {
      absl::MutexLock lock(&mu_);
      gate = armed_;
      armed_ = false;
    }
    if (gate) {
      entered.Notify();
      release.WaitForNotification();
    }
    const Tensor& x = inputs[0];
    const int64_t rows = x.shape[0];
    const size_t count = x.byte_size / sizeof(float);
    auto values = std::make_shared<std::vector<float>>(count);
    const float* in = reinterpret_cast<const float*>(x.data);
    for (size_t i = 0; i < count; ++i) (*values)[i] = in[i] + 1;
    {
      absl::MutexLock lock(&mu_);
      std::vector<float>& firsts = batches_.emplace_back();
      for (int64_t r = 0; r < rows; ++r) firsts.push_back(in[r * count / rows]);
    }
    Tensor y;
    y.dtype = inference::TYPE_FP32;
    y.shape = x.shape;
    y.data = reinterpret_cast<const char*>(values->data());
    y.byte_size = x.byte_size;
    y.owner = values;
    return std::vector<Tensor>{y};
  }

  std::vector<std::vector<float>> batches() {
    absl::MutexLock lock(&mu_);
    return batches_;
  }

  void Arm() {
    absl::MutexLock lock(&mu_);
    armed_ = true;
  }

  absl::Notification entered;
  absl::Notification release;

 private:
  absl::Mutex mu_;
  bool armed_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::vector<float>> batches_ ABSL_GUARDED_BY(mu_);
};

class PlusOneLoader : public ModelLoader {
 public:
  absl::StatusOr<std::unique_ptr<Model>> Load(
      const inference::ModelConfig& config, const std::string&) override {
    auto model = std::make_unique<PlusOneModel>();
    absl::MutexLock lock(&mu_);
    models_[config.name()] = model.get();
    return model;
  }
  PlusOneModel* model(const std::string& name) {
    absl::MutexLock lock(&mu_);
    return models_[name];
  }

 private:
  absl::Mutex mu_;
  std::map<std::string, PlusOneModel*> models_ ABSL_GUARDED_BY(mu_);
};

constexpr int kWide = 8192;  // floats per row of "wide": 32 KiB

// "held": a batch runs only once 65 rows wait (a fixed delay of ten
// minutes), one more than a stream may hold. "echo": every request at once.
// "wide": rows of 32 KiB, at once. "gated": one request per batch, for
// PlusOneModel's gate.
std::string MakeFakeRepository(const std::string& name) {
  const std::string root = ::testing::TempDir() + "/inferd_stream_" + name;
  std::filesystem::remove_all(root);
  auto write = [&](const std::string& model, const std::string& config) {
    std::filesystem::create_directories(root + "/" + model + "/1");
    // A version directory holds at least one file (the loader reads none).
    std::ofstream(root + "/" + model + "/1/model.pt") << "fake";
    std::ofstream(root + "/" + model + "/config.pbtxt") << config;
  };
  write("held", absl::StrCat(
                    "max_batch_size: ", kStreamMaxPending + 1,
                    "\ninput { name: \"x\" data_type: TYPE_FP32 dims: [ 1 ] }\n"
                    "output { name: \"y\" data_type: TYPE_FP32 dims: [ 1 ] }\n"
                    "dynamic_batching { max_queue_delay_microseconds: "
                    "600000000 }\n"
                    "parameters { key: \"INFERD_QUEUE_DELAY\" value: { "
                    "string_value: \"fixed\" } }\n"));
  write("echo",
        "max_batch_size: 8\n"
        "input { name: \"x\" data_type: TYPE_FP32 dims: [ 1 ] }\n"
        "output { name: \"y\" data_type: TYPE_FP32 dims: [ 1 ] }\n"
        "dynamic_batching { max_queue_delay_microseconds: 0 }\n");
  write("wide",
        absl::StrCat("max_batch_size: 8\n"
                     "input { name: \"x\" data_type: TYPE_FP32 dims: [ ",
                     kWide,
                     " ] }\n"
                     "output { name: \"y\" data_type: TYPE_FP32 dims: [ ",
                     kWide,
                     " ] }\n"
                     "dynamic_batching { max_queue_delay_microseconds: 0 }\n"));
  write("gated",
        "max_batch_size: 8\n"
        "input { name: \"x\" data_type: TYPE_FP32 dims: [ 1 ] }\n"
        "output { name: \"y\" data_type: TYPE_FP32 dims: [ 1 ] }\n");
  return root;
}

// One row of `width` copies of `x`.
inference::ModelInferRequest RowRequest(const std::string& model,
                                        const std::string& id, float x,
                                        int width = 1) {
  inference::ModelInferRequest request;
  request.set_model_name(model);
  request.set_id(id);
  AddRawInput(&request, "x", "FP32", {1, width},
              RawBytes(std::vector<float>(width, x)));
  return request;
}

// Expects a success for `id` whose every element is `y`.
void ExpectRow(const inference::ModelStreamInferResponse& answer,
               const std::string& id, float y) {
  ASSERT_EQ(answer.error_message(), "") << id;
  EXPECT_EQ(answer.infer_response().id(), id);
  ASSERT_EQ(answer.infer_response().raw_output_contents_size(), 1) << id;
  std::vector<float> values =
      FromRaw<float>(answer.infer_response().raw_output_contents(0));
  ASSERT_FALSE(values.empty()) << id;
  for (float value : values) ASSERT_EQ(value, y) << id;
}

class FakeModelStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = TestServer::Start(
        MakeFakeRepository(
            ::testing::UnitTest::GetInstance()->current_test_info()->name()),
        &loader_);
    ASSERT_NE(server_, nullptr);
  }
  void TearDown() override {
    // A test that failed with the gate closed must not hang the unload.
    // (The models live as long as the server.)
    if (server_ == nullptr) return;
    PlusOneModel* gated = loader_.model("gated");
    if (gated != nullptr && !gated->release.HasBeenNotified()) {
      gated->release.Notify();
    }
  }

  size_t QueueDepth(const std::string& model) {
    auto servable = server_->repository().Get(model, "");
    return servable.ok() ? (*servable)->queue_depth() : 0;
  }

  grpc::Status Echo(float x, float* y) {
    grpc::ClientContext context;
    inference::ModelInferResponse response;
    grpc::Status status = server_->stub().ModelInfer(
        &context, RowRequest("echo", "", x), &response);
    if (status.ok()) *y = FromRaw<float>(response.raw_output_contents(0))[0];
    return status;
  }

  double Metric(const std::string& series) {
    return Series(metrics::Exposition(server_->metrics()), series);
  }

  // Requests of "held" answered with `code`, by the metrics.
  double Held(const std::string& code) {
    return Metric(RequestsSeries("held", "1", code));
  }

  // Writes `count` requests for "held" on a new stream of `stub`, waits until
  // the server holds them all in the queue, and returns the stream.
  std::unique_ptr<Stream> HoldRequests(
      inference::GRPCInferenceService::Stub& stub, grpc::ClientContext* context,
      int count) {
    std::unique_ptr<Stream> stream = stub.ModelStreamInfer(context);
    // First a request that is answered, so the stream is known to flow.
    EXPECT_TRUE(stream->Write(RowRequest("echo", "first", 1)));
    inference::ModelStreamInferResponse answer;
    EXPECT_TRUE(stream->Read(&answer));
    ExpectRow(answer, "first", 2);
    for (int i = 0; i < count; ++i) {
      EXPECT_TRUE(stream->Write(RowRequest("held", absl::StrCat(i), i)));
    }
    EXPECT_TRUE(Eventually([&] {
      return QueueDepth("held") == static_cast<size_t>(count);
    })) << "held "
        << QueueDepth("held") << " of " << count;
    return stream;
  }

  // Wakes the workers of "held" until it has failed `failed` requests in all
  // (plus the wake-ups) and its queue is empty; returns how many wake-up
  // calls that took, or -1 after a minute. "held" runs on workers of its
  // own, which look at its queue only when a request arrives or one falls
  // due, and only then drop the requests that were cancelled. A wake-up is a
  // call to "held" that cannot run (a batch needs 65 rows): the worker drops
  // it at its 20 ms deadline (as CANCELLED or DEADLINE_EXCEEDED, whichever
  // of gRPC and the batcher sees the deadline first), together with every
  // request cancelled by then.
  int WakeHeldUntilFailed(uint64_t failed) {
    for (int wakers = 1; wakers <= 60; ++wakers) {
      grpc::ClientContext context;
      context.set_deadline(
          absl::ToChronoTime(absl::Now() + absl::Milliseconds(20)));
      inference::ModelInferResponse response;
      grpc::Status status = server_->stub().ModelInfer(
          &context, RowRequest("held", "wake", -1), &response);
      EXPECT_FALSE(status.ok());
      // Not a delay: after a second without the count, wake them again.
      if (Eventually(
              [&] {
                return Statistics(*server_, "held").fail ==
                           failed + static_cast<uint64_t>(wakers) &&
                       QueueDepth("held") == 0;
              },
              absl::Seconds(1))) {
        return wakers;
      }
    }
    return -1;
  }

  // The server answers ModelInfer calls and new streams.
  void ExpectServing() {
    float y = 0;
    grpc::Status status = Echo(41, &y);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(y, 42);
    grpc::ClientContext context;
    std::unique_ptr<Stream> stream = server_->stub().ModelStreamInfer(&context);
    for (int i = 0; i < 5; ++i) {
      ASSERT_TRUE(stream->Write(RowRequest("echo", absl::StrCat(i), i)));
    }
    stream->WritesDone();
    for (int i = 0; i < 5; ++i) {
      inference::ModelStreamInferResponse answer;
      ASSERT_TRUE(stream->Read(&answer));
      ExpectRow(answer, absl::StrCat(i), i + 1);
    }
    EXPECT_TRUE(stream->Finish().ok());
  }

  // The `held` requests of a stream that ended early, waiting in "held"'s
  // queue, were dropped without running, each counted once as CANCELLED.
  void ExpectDroppedAndCounted(uint64_t held) {
    const int wakers = WakeHeldUntilFailed(held);
    ASSERT_GT(wakers, 0) << "held: " << QueueDepth("held") << " still queued";
    const Counts counts = Statistics(*server_, "held");
    EXPECT_EQ(counts.success, 0u);
    EXPECT_EQ(counts.fail, held + wakers);
    EXPECT_GE(Held("CANCELLED"), static_cast<double>(held));
    EXPECT_EQ(Held("CANCELLED") + Held("DEADLINE_EXCEEDED"),
              static_cast<double>(held + wakers));
    EXPECT_EQ(Held("OK"), 0);
    EXPECT_EQ(loader_.model("held")->batches().size(), 1u);  // the warm-up
  }

  PlusOneLoader loader_;
  std::unique_ptr<TestServer> server_;
};

TEST_F(FakeModelStreamTest, HoldsAtMostItsBoundAndBatchesWithUnaryCalls) {
  constexpr size_t kBound = kStreamMaxPending;
  std::vector<inference::ModelInferRequest> requests;
  for (size_t i = 0; i < 2 * kBound; ++i) {
    requests.push_back(RowRequest("held", absl::StrCat("s-", i), i));
  }
  grpc::ClientContext context;
  std::unique_ptr<Stream> stream = server_->stub().ModelStreamInfer(&context);
  Writer writer(&context, stream.get(), requests);
  for (size_t round = 0; round < 2; ++round) {
    // The stream's next kBound requests wait in the queue, and no more: a
    // batch needs kBound + 1 rows, which the stream alone never provides.
    ASSERT_TRUE(Eventually([&] { return QueueDepth("held") == kBound; }))
        << "round " << round << ": " << QueueDepth("held") << " queued";
    // A unary call completes the batch.
    const float marker = 1000.0f * (round + 1);
    auto unary = std::async(std::launch::async, [&] {
      grpc::ClientContext unary_context;
      inference::ModelInferResponse response;
      grpc::Status status = server_->stub().ModelInfer(
          &unary_context, RowRequest("held", "unary", marker), &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      return response;
    });
    for (size_t i = round * kBound; i < (round + 1) * kBound; ++i) {
      inference::ModelStreamInferResponse answer;
      ASSERT_TRUE(stream->Read(&answer)) << i;
      ExpectRow(answer, absl::StrCat("s-", i), i + 1);
    }
    inference::ModelInferResponse response = unary.get();
    ASSERT_EQ(response.raw_output_contents_size(), 1);
    EXPECT_EQ(FromRaw<float>(response.raw_output_contents(0))[0], marker + 1);
    // One batch: the stream's requests in order, then the unary call.
    std::vector<float> batch;
    for (size_t i = round * kBound; i < (round + 1) * kBound; ++i) {
      batch.push_back(i);
    }
    batch.push_back(marker);
    EXPECT_THAT(loader_.model("held")->batches().back(),
                ElementsAreArray(batch));
  }
  inference::ModelStreamInferResponse extra;
  EXPECT_FALSE(stream->Read(&extra));
  grpc::Status status = stream->Finish();
  EXPECT_TRUE(status.ok()) << status.error_message();
}

TEST_F(FakeModelStreamTest, ACancelledStreamsRequestsAreDroppedAndCounted) {
  constexpr int kHeld = 10;
  {
    grpc::ClientContext context;
    std::unique_ptr<Stream> stream =
        HoldRequests(server_->stub(), &context, kHeld);
    context.TryCancel();
    EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  ExpectDroppedAndCounted(kHeld);
  ExpectServing();
}

TEST_F(FakeModelStreamTest, AClientThatDisconnectsIsTreatedAsCancelled) {
  constexpr int kHeld = 10;
  {
    // Its own connection, dropped with the stream open: no half-close, no
    // Finish, no cancel.
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    std::shared_ptr<grpc::Channel> channel =
        grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", server_->port()),
                                  grpc::InsecureChannelCredentials(), args);
    auto stub = inference::GRPCInferenceService::NewStub(channel);
    grpc::ClientContext context;
    std::unique_ptr<Stream> stream = HoldRequests(*stub, &context, kHeld);
  }
  ExpectDroppedAndCounted(kHeld);
  ExpectServing();
}

TEST_F(FakeModelStreamTest,
       AStreamPastItsDeadlineEndsAndItsRequestsAreDropped) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(1)));
  std::unique_ptr<Stream> stream = server_->stub().ModelStreamInfer(&context);
  // How many of these reach the server before the deadline is not the
  // point; each that does is dropped once the deadline passes.
  for (int i = 0; i < 3; ++i) {
    if (!stream->Write(RowRequest("held", absl::StrCat(i), i))) break;
  }
  // At the deadline the batcher may fail a queued request a moment before
  // gRPC ends the call, and its answer (the error) still be written: nothing
  // else can come.
  inference::ModelStreamInferResponse answer;
  while (stream->Read(&answer)) {
    EXPECT_THAT(answer.error_message(), HasSubstr("deadline passed"));
  }
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  // Every request that reached the server is failed at the deadline, once,
  // and counted.
  ASSERT_TRUE(Eventually([&] {
    const Counts held = Statistics(*server_, "held");
    return QueueDepth("held") == 0 &&
           static_cast<double>(held.fail) ==
               Held("DEADLINE_EXCEEDED") + Held("CANCELLED");
  }));
  const Counts held = Statistics(*server_, "held");
  EXPECT_EQ(held.success, 0u);
  EXPECT_LE(held.fail, 3u);
  EXPECT_EQ(loader_.model("held")->batches().size(), 1u);  // the warm-up
  ExpectServing();
}

TEST_F(FakeModelStreamTest, ASlowReaderGetsEveryAnswerInOrder) {
  // 400 answers of 32 KiB (13 MB) are more than gRPC's flow-control windows
  // hold: the server's writes wait for the reader, its window of pending
  // answers fills and it stops reading, and the writer waits in turn.
  constexpr int kRequests = 400;
  std::vector<inference::ModelInferRequest> requests;
  for (int i = 0; i < kRequests; ++i) {
    requests.push_back(RowRequest("wide", absl::StrCat("w-", i), i, kWide));
  }
  grpc::ClientContext context;
  std::unique_ptr<Stream> stream = server_->stub().ModelStreamInfer(&context);
  Writer writer(&context, stream.get(), std::move(requests));
  for (int i = 0; i < kRequests; ++i) {
    // A slow client, not a synchronisation.
    if (i % 4 == 0) absl::SleepFor(absl::Milliseconds(2));
    inference::ModelStreamInferResponse answer;
    ASSERT_TRUE(stream->Read(&answer)) << i;
    ExpectRow(answer, absl::StrCat("w-", i), i + 1);
  }
  grpc::Status status = stream->Finish();
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(Statistics(*server_, "wide").success,
            static_cast<uint64_t>(kRequests));
}

TEST_F(FakeModelStreamTest, ShutdownWithOpenStreamsEndsThem) {
  grpc::ClientContext idle_context;
  std::unique_ptr<Stream> idle =
      server_->stub().ModelStreamInfer(&idle_context);
  ASSERT_TRUE(idle->Write(RowRequest("echo", "idle", 1)));
  inference::ModelStreamInferResponse answer;
  ASSERT_TRUE(idle->Read(&answer));
  ExpectRow(answer, "idle", 2);
  // A busy stream: its first request runs (held at the model's gate), two
  // more wait in the queue.
  PlusOneModel* gated = loader_.model("gated");
  gated->Arm();
  grpc::ClientContext busy_context;
  std::unique_ptr<Stream> busy =
      server_->stub().ModelStreamInfer(&busy_context);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(busy->Write(RowRequest("gated", absl::StrCat(i), i)));
  }
  gated->entered.WaitForNotification();
  ASSERT_TRUE(Eventually([&] { return QueueDepth("gated") == 2; }));

  // Neither stream half-closes: after the grace period the server cancels
  // both, and Shutdown returns although the model is still running.
  server_->server().Shutdown(absl::Milliseconds(200));
  EXPECT_FALSE(idle->Read(&answer));
  EXPECT_FALSE(busy->Read(&answer));
  EXPECT_FALSE(idle->Finish().ok());
  EXPECT_FALSE(busy->Finish().ok());

  // Each request still gets its one answer, to nobody: the running one
  // finishes, the queued ones (marked cancelled) are dropped.
  auto servable = server_->repository().Get("gated", "");
  ASSERT_TRUE(servable.ok()) << servable.status();
  gated->release.Notify();
  ASSERT_TRUE(Eventually([&] {
    const ServableStatistics stats = (*servable)->statistics();
    return stats.success_count + stats.fail_count == 3;
  }));
  EXPECT_EQ((*servable)->statistics().success_count, 1u);
  EXPECT_EQ((*servable)->statistics().fail_count, 2u);
  servable->reset();
  server_.reset();
}

}  // namespace
}  // namespace inferd::testing
