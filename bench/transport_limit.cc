// inferd-transport-limit: what gRPC itself costs. A benchmark comparison
// server, not a product: it speaks the same GRPCInferenceService as inferd on
// the same callback API and answers ModelMetadata from one model's
// config.pbtxt, but its ModelInfer runs no model. It checks the input count
// and answers every configured output, shaped for the request's batch, with
// zero bytes. Benchmarked with inferd-bench next to inferd, it marks the
// ceiling that protobuf, HTTP/2 and gRPC's threads leave on this machine.
// With --async-infer, ModelInfer runs instead on the completion-queue API,
// answered inline by one thread, the other RPCs staying on the callback
// API. Which API costs less per request has varied with the machine and
// the answering thread (bench/README.md, "The completion-queue gRPC path").
// With --handoff, either API's answers are written by another thread that
// takes every call queued since its last round, as inferd's model workers
// do: the shape of inferd's own ModelInfer path, without the model.
//
//   build/bin/inferd-transport-limit --model-dir=/tmp/models/mlp --port=0
//   build/bin/inferd-transport-limit --model-dir=... --port=0 --async-infer
//   build/bin/inferd-transport-limit --model-dir=... --port=0 --handoff

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/flags_util.h"
#include "common/stop_signals.h"
#include "google/protobuf/text_format.h"
#include "model_store/data_type.h"
#include "proto/inference.grpc.pb.h"
#include "proto/model_config.pb.h"

ABSL_FLAG(std::string, model_dir, "",
          "One model's directory in a Triton-layout repository (holds "
          "config.pbtxt). Required.");
ABSL_FLAG(int, port, 0, "gRPC port on 127.0.0.1; 0 picks a free port.");
ABSL_FLAG(bool, async_infer, false,
          "Serve ModelInfer on the completion-queue API from one thread "
          "instead of the callback API.");
ABSL_FLAG(bool, handoff, false,
          "Answer ModelInfer from another thread, which takes every call "
          "queued since its last round (as inferd's model workers do).");

namespace inferd {
namespace {

using TensorMetadata = inference::ModelMetadataResponse::TensorMetadata;

// Messages can be as large as inferd accepts (ServerOptions).
constexpr int kMaxMessageBytes = 64 << 20;

// --async-infer: ModelInfer calls kept posted on the completion queue.
constexpr int kPendingCalls = 128;

absl::StatusOr<inference::ModelConfig> ReadConfig(const std::string& dir) {
  const std::string path = absl::StrCat(dir, "/config.pbtxt");
  std::ifstream file(path);
  if (!file) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream text;
  text << file.rdbuf();
  inference::ModelConfig config;
  if (!google::protobuf::TextFormat::ParseFromString(text.str(), &config)) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not a text-format ModelConfig"));
  }
  if (config.name().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": name is empty"));
  }
  return config;
}

void FillTensorMetadata(const std::string& name, inference::DataType type,
                        const google::protobuf::RepeatedField<int64_t>& dims,
                        bool batched, TensorMetadata* out) {
  out->set_name(name);
  out->set_datatype(WireName(type));
  if (batched) out->add_shape(-1);
  for (int64_t dim : dims) out->add_shape(dim);
}

// --handoff: one thread that runs, in rounds, every task queued since its
// last round, as a model worker runs a batch and answers its requests.
class Handoff {
 public:
  Handoff() : thread_([this] { Run(); }) {}
  ~Handoff() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }
  Handoff(const Handoff&) = delete;
  Handoff& operator=(const Handoff&) = delete;

  void Post(std::function<void()> task) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      tasks_.push_back(std::move(task));
    }
    wake_.notify_one();
  }

 private:
  void Run() {
    std::vector<std::function<void()>> round;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        wake_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
        if (tasks_.empty()) return;
        round.swap(tasks_);
      }
      for (auto& task : round) task();
      round.clear();
    }
  }

  std::mutex mu_;
  std::condition_variable wake_;
  std::vector<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::thread thread_;
};

grpc::ServerUnaryReactor* Answer(grpc::CallbackServerContext* context,
                                 const grpc::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(status);
  return reactor;
}

// One configured output as ModelInfer answers it.
struct OutputSpec {
  std::string name;
  std::string datatype;       // wire name
  std::vector<int64_t> dims;  // without the batch dimension
  int64_t row_bytes = 0;      // bytes for one batch row
};

// GRPCInferenceService for one model that answers ModelInfer without running
// it. The RPCs it does not override answer UNIMPLEMENTED (gRPC's default).
// Immutable after construction, so thread-safe.
class TransportLimitService final
    : public inference::GRPCInferenceService::CallbackService {
 public:
  // `handoff` (null: answer inline) must outlive the service.
  TransportLimitService(const inference::ModelConfig& config, Handoff* handoff)
      : handoff_(handoff),
        name_(config.name()),
        batched_(config.max_batch_size() > 0),
        input_count_(config.input_size()) {
    metadata_.set_name(config.name());
    metadata_.set_platform(config.platform());
    metadata_.add_versions("1");
    for (const auto& input : config.input()) {
      FillTensorMetadata(input.name(), input.data_type(), input.dims(),
                         batched_, metadata_.add_inputs());
    }
    for (const auto& output : config.output()) {
      FillTensorMetadata(output.name(), output.data_type(), output.dims(),
                         batched_, metadata_.add_outputs());
      OutputSpec spec{output.name(),
                      WireName(output.data_type()),
                      {output.dims().begin(), output.dims().end()},
                      static_cast<int64_t>(ElementSize(output.data_type()))};
      // A variable (-1) output dimension is answered as 1.
      for (int64_t dim : spec.dims) spec.row_bytes *= dim > 0 ? dim : 1;
      outputs_.push_back(std::move(spec));
    }
  }

  grpc::ServerUnaryReactor* ServerLive(
      grpc::CallbackServerContext* context,
      const inference::ServerLiveRequest* /*request*/,
      inference::ServerLiveResponse* response) override {
    response->set_live(true);
    return Answer(context, grpc::Status::OK);
  }

  grpc::ServerUnaryReactor* ServerReady(
      grpc::CallbackServerContext* context,
      const inference::ServerReadyRequest* /*request*/,
      inference::ServerReadyResponse* response) override {
    response->set_ready(true);
    return Answer(context, grpc::Status::OK);
  }

  grpc::ServerUnaryReactor* ModelMetadata(
      grpc::CallbackServerContext* context,
      const inference::ModelMetadataRequest* request,
      inference::ModelMetadataResponse* response) override {
    return Answer(context, Metadata(*request, response));
  }

  // ModelMetadata's answer to `request`, written to `response`.
  grpc::Status Metadata(const inference::ModelMetadataRequest& request,
                        inference::ModelMetadataResponse* response) const {
    if (request.name() != name_) return UnknownModel(request.name());
    *response = metadata_;
    return grpc::Status::OK;
  }

  grpc::ServerUnaryReactor* ModelInfer(
      grpc::CallbackServerContext* context,
      const inference::ModelInferRequest* request,
      inference::ModelInferResponse* response) override {
    if (handoff_ == nullptr) return Answer(context, Infer(*request, response));
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    handoff_->Post([this, reactor, request, response] {
      reactor->Finish(Infer(*request, response));
    });
    return reactor;
  }

  // ModelInfer's answer to `request`, written to `response`.
  grpc::Status Infer(const inference::ModelInferRequest& request,
                     inference::ModelInferResponse* response) const {
    if (request.model_name() != name_) {
      return UnknownModel(request.model_name());
    }
    if (request.inputs_size() != input_count_) {
      return grpc::Status(
          grpc::StatusCode::INVALID_ARGUMENT,
          absl::StrCat("expected ", input_count_, " input(s), got ",
                       request.inputs_size()));
    }
    int64_t batch = 1;
    if (batched_) {
      const auto& first = request.inputs(0);
      if (first.shape_size() == 0 || first.shape(0) < 0) {
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                            absl::StrCat("input \"", first.name(),
                                         "\": expected a leading batch "
                                         "dimension >= 0"));
      }
      batch = first.shape(0);
    }
    response->set_model_name(name_);
    response->set_model_version("1");
    response->set_id(request.id());
    for (const OutputSpec& spec : outputs_) {
      auto* out = response->add_outputs();
      out->set_name(spec.name);
      out->set_datatype(spec.datatype);
      if (batched_) out->add_shape(batch);
      for (int64_t dim : spec.dims) out->add_shape(dim > 0 ? dim : 1);
      response->add_raw_output_contents()->assign(
          static_cast<size_t>(batch * spec.row_bytes), '\0');
    }
    return grpc::Status::OK;
  }

 private:
  grpc::Status UnknownModel(const std::string& name) const {
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        absl::StrCat("unknown model \"", name,
                                     "\"; this server has \"", name_, "\""));
  }

  Handoff* const handoff_;
  const std::string name_;
  const bool batched_;
  const int input_count_;
  inference::ModelMetadataResponse metadata_;
  std::vector<OutputSpec> outputs_;
};

// GRPCInferenceService with ModelInfer on gRPC's completion-queue API and
// every other RPC on the callback API. gRPC decides each method's API by
// the order its wrappers apply: WithAsyncMethod_ModelInfer must wrap the
// plain Service first (which drops ModelInfer's synchronous handler), and no
// WithCallbackMethod_ModelInfer may follow. The generated CallbackService
// marks ModelInfer as a callback, and gRPC would keep it one. Every method
// of the service must appear below: one left out would stay synchronous and
// make gRPC start its synchronous thread pool for it.
using Grpc = inference::GRPCInferenceService;
// clang-format off
using CallbackServiceWithQueuedInfer =
    Grpc::WithCallbackMethod_ServerLive<
    Grpc::WithCallbackMethod_ServerReady<
    Grpc::WithCallbackMethod_ModelReady<
    Grpc::WithCallbackMethod_ServerMetadata<
    Grpc::WithCallbackMethod_ModelMetadata<
    Grpc::WithCallbackMethod_ModelStreamInfer<
    Grpc::WithCallbackMethod_ModelConfig<
    Grpc::WithCallbackMethod_ModelStatistics<
    Grpc::WithCallbackMethod_RepositoryIndex<
    Grpc::WithCallbackMethod_RepositoryModelLoad<
    Grpc::WithCallbackMethod_RepositoryModelUnload<
    Grpc::WithCallbackMethod_SystemSharedMemoryStatus<
    Grpc::WithCallbackMethod_SystemSharedMemoryRegister<
    Grpc::WithCallbackMethod_SystemSharedMemoryUnregister<
    Grpc::WithCallbackMethod_CudaSharedMemoryStatus<
    Grpc::WithCallbackMethod_CudaSharedMemoryRegister<
    Grpc::WithCallbackMethod_CudaSharedMemoryUnregister<
    Grpc::WithCallbackMethod_TraceSetting<
    Grpc::WithCallbackMethod_LogSettings<
    Grpc::WithAsyncMethod_ModelInfer<
    Grpc::Service>>>>>>>>>>>>>>>>>>>>;
// clang-format on

// The same answers with ModelInfer on gRPC's completion-queue API, served by
// one thread (inline, or handed off with --handoff): no callback executor.
// The other RPCs stay on the callback API (CallbackServiceWithQueuedInfer),
// as they would in inferd (bench/experiments/queued_model_infer.patch).
class AsyncInferService final : public CallbackServiceWithQueuedInfer {
 public:
  // `handoff` (null: answer inline) must outlive the service.
  AsyncInferService(const TransportLimitService* answers, Handoff* handoff)
      : answers_(answers), handoff_(handoff) {}

  grpc::ServerUnaryReactor* ServerLive(
      grpc::CallbackServerContext* context,
      const inference::ServerLiveRequest* /*request*/,
      inference::ServerLiveResponse* response) override {
    response->set_live(true);
    return Answer(context, grpc::Status::OK);
  }

  grpc::ServerUnaryReactor* ServerReady(
      grpc::CallbackServerContext* context,
      const inference::ServerReadyRequest* /*request*/,
      inference::ServerReadyResponse* response) override {
    response->set_ready(true);
    return Answer(context, grpc::Status::OK);
  }

  grpc::ServerUnaryReactor* ModelMetadata(
      grpc::CallbackServerContext* context,
      const inference::ModelMetadataRequest* request,
      inference::ModelMetadataResponse* response) override {
    return Answer(context, answers_->Metadata(*request, response));
  }

  // Answers ModelInfer calls from `cq` until it shuts down, keeping
  // `pending` requests for new calls posted (calls beyond that wait inside
  // gRPC until one is).
  void Run(grpc::ServerCompletionQueue* cq, int pending) {
    for (int i = 0; i < pending; ++i) Post(cq);
    void* tag = nullptr;
    bool ok = false;
    while (cq->Next(&tag, &ok)) {
      auto* call = static_cast<Call*>(tag);
      if (!ok || call->answered) {
        delete call;
        continue;
      }
      Post(cq);
      call->answered = true;
      if (handoff_ == nullptr) {
        Respond(call);
      } else {
        handoff_->Post([this, call] { Respond(call); });
      }
    }
  }

 private:
  struct Call {
    grpc::ServerContext context;
    inference::ModelInferRequest request;
    inference::ModelInferResponse response;
    grpc::ServerAsyncResponseWriter<inference::ModelInferResponse> writer{
        &context};
    bool answered = false;
  };

  void Respond(Call* call) const {
    call->writer.Finish(call->response,
                        answers_->Infer(call->request, &call->response), call);
  }

  void Post(grpc::ServerCompletionQueue* cq) {
    auto* call = new Call;
    RequestModelInfer(&call->context, &call->request, &call->writer, cq, cq,
                      call);
  }

  const TransportLimitService* answers_;
  Handoff* const handoff_;
};

int Serve(const inference::ModelConfig& config, const sigset_t& stop_signals) {
  const bool async = absl::GetFlag(FLAGS_async_infer);
  std::unique_ptr<Handoff> handoff;
  if (absl::GetFlag(FLAGS_handoff)) handoff = std::make_unique<Handoff>();
  TransportLimitService callback_service(config, handoff.get());
  AsyncInferService async_service(&callback_service, handoff.get());
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(
      absl::StrCat("127.0.0.1:", absl::GetFlag(FLAGS_port)),
      grpc::InsecureServerCredentials(), &port);
  if (async) {
    builder.RegisterService(&async_service);
  } else {
    builder.RegisterService(&callback_service);
  }
  builder.SetMaxReceiveMessageSize(kMaxMessageBytes);
  builder.SetMaxSendMessageSize(kMaxMessageBytes);
  std::unique_ptr<grpc::ServerCompletionQueue> cq;
  if (async) cq = builder.AddCompletionQueue();
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::fprintf(stderr, "inferd-transport-limit: cannot listen on port %d\n",
                 absl::GetFlag(FLAGS_port));
    return 1;
  }
  std::printf("listening on 127.0.0.1:%d\n", port);
  std::fflush(stdout);

  std::thread answering;
  if (async) {
    answering =
        std::thread([&] { async_service.Run(cq.get(), kPendingCalls); });
  }
  inferd::WaitForStopSignal(stop_signals);
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  if (async) {
    cq->Shutdown();
    answering.join();
  }
  server->Wait();
  return 0;
}

}  // namespace
}  // namespace inferd

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "inferd-transport-limit --model-dir=DIR [--port=0]");
  inferd::ParseFlagsAllowingDashes(argc, argv);
  const std::string dir = absl::GetFlag(FLAGS_model_dir);
  if (dir.empty()) {
    std::fprintf(stderr,
                 "inferd-transport-limit: --model-dir=DIR is required\n");
    return 2;
  }
  absl::StatusOr<inference::ModelConfig> config = inferd::ReadConfig(dir);
  if (!config.ok()) {
    std::fprintf(stderr, "inferd-transport-limit: %s\n",
                 std::string(config.status().message()).c_str());
    return 2;
  }
  const sigset_t stop_signals = inferd::BlockStopSignals();
  return inferd::Serve(*config, stop_signals);
}
