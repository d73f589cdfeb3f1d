// StreamWindow stepped by hand: what a ModelStreamInfer stream reads, writes
// and when it finishes, without gRPC or threads.

#include "service/stream_window.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace inferd {
namespace {

using ::testing::ElementsAre;

std::unique_ptr<inference::ModelInferRequest> Request(const std::string& id) {
  auto request = std::make_unique<inference::ModelInferRequest>();
  request->set_id(id);
  request->set_model_name("m");
  request->set_model_version("3");
  return request;
}

InferResponse Response(const std::string& id) {
  InferResponse response;
  response.model_name = "m";
  response.model_version = "3";
  response.id = id;
  response.outputs.push_back(OutputTensor{"y", "FP32", {1, 1}, "abcd"});
  return response;
}

// Reads one request: expects the window to ask for a read, accepts the
// request and marks it dispatched. Returns its sequence number.
uint64_t ReadOne(StreamWindow* window, const std::string& id) {
  StreamWindow::Actions actions = window->Next();
  EXPECT_TRUE(actions.read) << "no read asked for before " << id;
  const uint64_t sequence = window->Accept(Request(id));
  window->Dispatched();
  return sequence;
}

// Takes the write the window asks for now and returns its id ("" if none).
std::string WrittenId(StreamWindow* window) {
  StreamWindow::Actions actions = window->Next();
  if (actions.write == nullptr) return "";
  return actions.write->infer_response().id();
}

TEST(StreamWindowTest, AsksForOneReadAtATime) {
  StreamWindow window(4);
  EXPECT_TRUE(window.Next().read);
  EXPECT_FALSE(window.Next().read);  // the first is still outstanding
  window.Accept(Request("a"));
  // Until the request has reached the model, the next one is not read, so
  // that a stream's requests are queued in the order they came.
  EXPECT_FALSE(window.Next().read);
  window.Dispatched();
  EXPECT_TRUE(window.Next().read);
}

TEST(StreamWindowTest, StopsReadingAtTheBoundUntilAnAnswerIsWritten) {
  StreamWindow window(3);
  for (const char* id : {"0", "1", "2"}) ReadOne(&window, id);
  EXPECT_EQ(window.pending(), 3u);
  EXPECT_FALSE(window.Next().read);
  // Answered but not yet written still counts against the bound.
  window.Answer(0, Response("0"));
  StreamWindow::Actions actions = window.Next();
  EXPECT_FALSE(actions.read);
  ASSERT_NE(actions.write, nullptr);
  EXPECT_FALSE(window.Next().read);
  window.WriteDone(true);
  EXPECT_EQ(window.pending(), 2u);
  EXPECT_TRUE(window.Next().read);
}

TEST(StreamWindowTest, WritesAnswersInRequestOrderWhateverOrderTheyCome) {
  StreamWindow window(8);
  for (const char* id : {"a", "b", "c", "d"}) ReadOne(&window, id);
  window.Answer(3, Response("d"));
  window.Answer(1, Response("b"));
  EXPECT_EQ(WrittenId(&window), "");  // "a" is not answered yet
  window.Answer(0, Response("a"));
  std::vector<std::string> written;
  written.push_back(WrittenId(&window));
  EXPECT_EQ(WrittenId(&window), "");  // one write at a time
  window.WriteDone(true);
  written.push_back(WrittenId(&window));
  window.WriteDone(true);
  EXPECT_EQ(WrittenId(&window), "");  // "c" is not answered yet
  window.Answer(2, Response("c"));
  written.push_back(WrittenId(&window));
  window.WriteDone(true);
  written.push_back(WrittenId(&window));
  window.WriteDone(true);
  EXPECT_THAT(written, ElementsAre("a", "b", "c", "d"));
  EXPECT_EQ(window.pending(), 0u);
}

TEST(StreamWindowTest, ASlowReaderHoldsTheStreamAtItsBound) {
  // Every request is answered at once, but the client takes no answer: the
  // window fills with answers and stops reading.
  StreamWindow window(4);
  int reads = 0;
  bool writing = false;
  for (int step = 0; step < 100; ++step) {
    StreamWindow::Actions actions = window.Next();
    writing = writing || actions.write != nullptr;
    if (!actions.read) break;
    const uint64_t sequence = window.Accept(Request(std::to_string(reads)));
    window.Dispatched();
    window.Answer(sequence, Response(std::to_string(reads)));
    ++reads;
  }
  EXPECT_EQ(reads, 4);
  EXPECT_TRUE(writing);
  EXPECT_EQ(window.pending(), 4u);
}

TEST(StreamWindowTest, FinishesOkOnceHalfClosedAndEveryAnswerWritten) {
  StreamWindow window(4);
  ReadOne(&window, "a");
  ReadOne(&window, "b");
  ASSERT_TRUE(window.Next().read);
  window.ReadsEnded();  // the client half-closed
  EXPECT_FALSE(window.Next().finish.has_value());
  window.Answer(0, Response("a"));
  window.Answer(1, Response("b"));
  StreamWindow::Actions actions = window.Next();
  ASSERT_NE(actions.write, nullptr);
  EXPECT_FALSE(actions.read);
  EXPECT_FALSE(actions.finish.has_value());
  window.WriteDone(true);
  actions = window.Next();
  ASSERT_NE(actions.write, nullptr);
  EXPECT_FALSE(actions.finish.has_value());
  window.WriteDone(true);
  actions = window.Next();
  ASSERT_TRUE(actions.finish.has_value());
  EXPECT_TRUE(actions.finish->ok());
  EXPECT_TRUE(window.finished());
  // Finished: nothing more, ever.
  actions = window.Next();
  EXPECT_FALSE(actions.read || actions.write != nullptr ||
               actions.finish.has_value());
}

TEST(StreamWindowTest, AnEmptyStreamFinishesOkWhenHalfClosed) {
  StreamWindow window(4);
  ASSERT_TRUE(window.Next().read);
  window.ReadsEnded();
  StreamWindow::Actions actions = window.Next();
  ASSERT_TRUE(actions.finish.has_value());
  EXPECT_TRUE(actions.finish->ok());
}

TEST(StreamWindowTest, AFailedRequestIsAnsweredInItsPlaceAndTheStreamGoesOn) {
  StreamWindow window(4);
  ReadOne(&window, "good-1");
  ReadOne(&window, "bad");
  ReadOne(&window, "good-2");
  window.Answer(1, absl::NotFoundError("unknown model \"m\""));
  window.Answer(0, Response("good-1"));
  window.Answer(2, Response("good-2"));
  std::vector<std::string> errors;
  for (int i = 0; i < 3; ++i) {
    StreamWindow::Actions actions = window.Next();
    ASSERT_NE(actions.write, nullptr);
    EXPECT_FALSE(actions.finish.has_value());
    errors.push_back(actions.write->error_message());
    window.WriteDone(true);
  }
  EXPECT_THAT(errors, ElementsAre("", "unknown model \"m\"", ""));
  EXPECT_EQ(window.pending(), 0u);
  EXPECT_FALSE(window.finished());
}

TEST(StreamWindowTest, CancelFinishesAtOnceAndDropsLaterAnswers) {
  StreamWindow window(4);
  ReadOne(&window, "a");
  ReadOne(&window, "b");
  ASSERT_TRUE(window.Next().read);  // outstanding; gRPC fails it
  window.Cancel();
  StreamWindow::Actions actions = window.Next();
  EXPECT_FALSE(actions.read);
  ASSERT_TRUE(actions.finish.has_value());
  EXPECT_EQ(actions.finish->code(), absl::StatusCode::kCancelled);
  // The model's answers still come, and are dropped.
  window.Answer(1, Response("b"));
  window.Answer(0, Response("a"));
  window.ReadsEnded();
  actions = window.Next();
  EXPECT_FALSE(actions.read || actions.write != nullptr ||
               actions.finish.has_value());
}

TEST(StreamWindowTest, CancelWaitsForTheOutstandingWriteBeforeFinishing) {
  StreamWindow window(4);
  ReadOne(&window, "a");
  ReadOne(&window, "b");
  window.Answer(0, Response("a"));
  window.Answer(1, Response("b"));
  ASSERT_NE(window.Next().write, nullptr);
  window.Cancel();
  EXPECT_FALSE(window.Next().finish.has_value());
  window.WriteDone(false);
  StreamWindow::Actions actions = window.Next();
  EXPECT_EQ(actions.write, nullptr);  // "b" is not written after a cancel
  ASSERT_TRUE(actions.finish.has_value());
  EXPECT_EQ(actions.finish->code(), absl::StatusCode::kCancelled);
}

TEST(StreamWindowTest, AFailedWriteFinishesTheStreamCancelled) {
  StreamWindow window(4);
  ReadOne(&window, "a");
  ReadOne(&window, "b");
  window.Answer(0, Response("a"));
  ASSERT_NE(window.Next().write, nullptr);
  window.WriteDone(false);  // the client is gone
  StreamWindow::Actions actions = window.Next();
  EXPECT_FALSE(actions.read);
  ASSERT_TRUE(actions.finish.has_value());
  EXPECT_EQ(actions.finish->code(), absl::StatusCode::kCancelled);
  window.Answer(1, Response("b"));  // still accepted after the finish
  EXPECT_EQ(window.Next().write, nullptr);
}

TEST(StreamAnswerTest, SuccessCarriesTheEncodedResponse) {
  inference::ModelStreamInferResponse answer =
      StreamAnswer(*Request("x"), Response("x"));
  EXPECT_EQ(answer.error_message(), "");
  EXPECT_EQ(answer.infer_response().id(), "x");
  EXPECT_EQ(answer.infer_response().model_name(), "m");
  EXPECT_EQ(answer.infer_response().model_version(), "3");
  ASSERT_EQ(answer.infer_response().outputs_size(), 1);
  EXPECT_EQ(answer.infer_response().outputs(0).name(), "y");
  EXPECT_THAT(answer.infer_response().raw_output_contents(),
              ElementsAre("abcd"));
}

TEST(StreamAnswerTest, ErrorEchoesTheRequestSoTheClientCanMatchIt) {
  auto request = Request("req-7");
  request->set_model_name("no_such_model");
  request->set_model_version("");
  inference::ModelStreamInferResponse answer = StreamAnswer(
      *request, absl::NotFoundError("unknown model \"no_such_model\""));
  EXPECT_EQ(answer.error_message(), "unknown model \"no_such_model\"");
  EXPECT_EQ(answer.infer_response().id(), "req-7");
  EXPECT_EQ(answer.infer_response().model_name(), "no_such_model");
  EXPECT_EQ(answer.infer_response().model_version(), "");
  EXPECT_EQ(answer.infer_response().outputs_size(), 0);
}

TEST(StreamAnswerTest, AnErrorWithoutMessageStillReadsAsAnError) {
  inference::ModelStreamInferResponse answer = StreamAnswer(
      *Request("x"), absl::Status(absl::StatusCode::kInternal, ""));
  EXPECT_EQ(answer.error_message(), "INTERNAL");
}

}  // namespace
}  // namespace inferd
