#include "tools/bench_stream.h"

#include <string>
#include <utility>

#include "tools/bench_load.h"

namespace inferd::bench {

// One stream and its completion tags. At most one read and one write (a
// request or the half-close) are outstanding, as gRPC requires.
struct StreamWorker::Stream {
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientAsyncReaderWriter<
      inference::ModelInferRequest, inference::ModelStreamInferResponse>>
      stream;
  inference::ModelStreamInferResponse answer;
  // When each request written and not yet answered was sent, in order.
  std::deque<SteadyClock::time_point> sent;
  int due = 0;               // requests to send as soon as the write is free
  bool open = false;         // started, and no write or read failed
  bool writing = false;      // a Write or WritesDone is outstanding
  bool half_closed = false;  // WritesDone started
  bool reads_ended = false;  // the server ended the stream (or it broke)
  grpc::Status status;
  Tag start{this, Op::kStart};
  Tag read{this, Op::kRead};
  Tag write{this, Op::kWrite};
  Tag writes_done{this, Op::kWritesDone};
  Tag finish{this, Op::kFinish};
};

StreamWorker::StreamWorker(inference::GRPCInferenceService::Stub* stub,
                           const inference::ModelInferRequest* request,
                           const std::vector<int>& slots, const Window& window,
                           absl::Duration rpc_timeout)
    : stub_(stub),
      request_(request),
      window_(window),
      rpc_timeout_(absl::ToChronoNanoseconds(rpc_timeout)) {
  for (int count : slots) {
    auto stream = std::make_unique<Stream>();
    stream->due = count;
    streams_.push_back(std::move(stream));
  }
}

StreamWorker::~StreamWorker() = default;

void StreamWorker::Run() {
  // The whole level plus one call's timeout, so a stuck server cannot hold
  // the benchmark.
  const auto deadline = std::chrono::system_clock::now() +
                        (window_.end - SteadyClock::now()) + rpc_timeout_;
  for (auto& s : streams_) {
    s->context.set_deadline(deadline);
    s->stream = stub_->PrepareAsyncModelStreamInfer(&s->context, &cq_);
    s->stream->StartCall(&s->start);
  }
  size_t active = streams_.size();
  void* tag = nullptr;
  bool ok = false;
  while (active > 0 && cq_.Next(&tag, &ok)) {
    if (!Handle(*static_cast<Tag*>(tag), ok)) --active;
  }
  cq_.Shutdown();
  while (cq_.Next(&tag, &ok)) {
  }
}

bool StreamWorker::Handle(const Tag& tag, bool ok) {
  Stream* s = tag.stream;
  switch (tag.op) {
    case Op::kStart:
      if (ok) {
        s->open = true;
        s->stream->Read(&s->answer, &s->read);
        Send(s);
      } else {
        s->reads_ended = true;
        s->stream->Finish(&s->status, &s->finish);
      }
      return true;
    case Op::kRead:
      if (!ok) {
        s->open = false;
        s->reads_ended = true;
        // Finish waits for an outstanding write to complete.
        if (!s->writing) s->stream->Finish(&s->status, &s->finish);
        return true;
      }
      if (!s->sent.empty()) {
        const SteadyClock::time_point done = SteadyClock::now();
        Record(s, &s->answer, s->sent.front(), done);
        s->sent.pop_front();
        if (done < window_.end) ++s->due;
      }
      s->stream->Read(&s->answer, &s->read);
      Send(s);
      return true;
    case Op::kWrite:
    case Op::kWritesDone:
      s->writing = false;
      if (!ok) s->open = false;
      if (s->reads_ended) {
        s->stream->Finish(&s->status, &s->finish);
      } else {
        Send(s);
      }
      return true;
    case Op::kFinish: {
      // Requests left unanswered count under the stream's status.
      const SteadyClock::time_point done = SteadyClock::now();
      if (!s->status.ok() && s->sent.empty()) {
        Record(s, nullptr, done, done);
      }
      for (const SteadyClock::time_point sent : s->sent) {
        Record(s, nullptr, sent, done);
      }
      s->sent.clear();
      return false;
    }
  }
  return true;
}

void StreamWorker::Send(Stream* s) {
  if (!s->open || s->writing || s->half_closed) return;
  const SteadyClock::time_point now = SteadyClock::now();
  if (now < window_.end) {
    if (s->due == 0) return;
    --s->due;
    s->sent.push_back(now);
    s->writing = true;
    s->stream->Write(*request_, &s->write);
    return;
  }
  if (s->sent.empty()) {
    s->half_closed = true;
    s->writing = true;
    s->stream->WritesDone(&s->writes_done);
  }
}

void StreamWorker::Record(Stream* stream,
                          const inference::ModelStreamInferResponse* answer,
                          SteadyClock::time_point sent,
                          SteadyClock::time_point done) {
  if (done < window_.start || done >= window_.end) return;
  if (answer != nullptr && answer->error_message().empty()) {
    samples_.latency_ms.push_back(
        std::chrono::duration<double, std::milli>(done - sent).count());
    return;
  }
  std::string code = "STREAM_ERROR";
  std::string message;
  if (answer != nullptr) {
    message = answer->error_message();
  } else {
    code = stream->status.ok() ? "UNANSWERED"
                               : StatusCodeName(stream->status.error_code());
    message = stream->status.error_message();
  }
  ++samples_.errors[code];
  samples_.first_error.emplace(code, std::move(message));
}

}  // namespace inferd::bench
