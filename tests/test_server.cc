#include "tests/test_server.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "model_store/backends/torch_loader.h"

namespace inferd::testing {

std::unique_ptr<TestServer> TestServer::Start(const std::string& root,
                                              ModelLoader* loader) {
  return Start(root, loader, ControlMode::kNone, absl::Seconds(15));
}

std::unique_ptr<TestServer> TestServer::Start(const std::string& root,
                                              ModelLoader* loader,
                                              ControlMode mode,
                                              absl::Duration poll_interval) {
  return DoStart(root, loader, mode, poll_interval, ServerOptions(), nullptr,
                 grpc::ChannelArguments());
}

std::unique_ptr<TestServer> TestServer::StartWithOptions(
    const std::string& root, ServerOptions options,
    std::shared_ptr<grpc::ChannelCredentials> credentials,
    const grpc::ChannelArguments& channel_args) {
  return DoStart(root, nullptr, ControlMode::kNone, absl::Seconds(15),
                 std::move(options), std::move(credentials), channel_args);
}

std::unique_ptr<TestServer> TestServer::DoStart(
    const std::string& root, ModelLoader* loader, ControlMode mode,
    absl::Duration poll_interval, ServerOptions server_options,
    std::shared_ptr<grpc::ChannelCredentials> credentials,
    const grpc::ChannelArguments& channel_args) {
  auto server = std::unique_ptr<TestServer>(new TestServer());
  if (loader == nullptr) {
    server->owned_loader_ = std::make_unique<TorchModelLoader>();
    loader = server->owned_loader_.get();
  }
  server->metrics_ = std::make_unique<metrics::ServerMetrics>();
  ModelRepository::Options options;
  options.root = root;
  options.metrics = server->metrics_.get();
  options.mode = mode;
  options.poll_interval = poll_interval;
  options.observer = &server->observer_;
  auto repository = ModelRepository::Create(options, loader);
  EXPECT_TRUE(repository.ok()) << repository.status();
  if (!repository.ok()) return nullptr;
  server->repository_ = std::move(*repository);
  if (mode == ControlMode::kExplicit) {
    server->repository_->MarkStarted();  // models load by RPC
  } else {
    server->repository_->LoadAll();
  }
  server_options.grpc_port = 0;
  auto started = InferenceServer::Start(
      server_options, server->repository_.get(), server->metrics_.get());
  EXPECT_TRUE(started.ok()) << started.status();
  if (!started.ok()) return nullptr;
  server->server_ = std::move(*started);
  if (credentials == nullptr) credentials = grpc::InsecureChannelCredentials();
  server->channel_ = grpc::CreateCustomChannel(
      "127.0.0.1:" + std::to_string(server->server_->port()), credentials,
      channel_args);
  server->stub_ = inference::GRPCInferenceService::NewStub(server->channel_);
  return server;
}

TestServer::~TestServer() {
  stub_.reset();
  channel_.reset();
  if (server_ != nullptr) server_->Shutdown();
  server_.reset();
  repository_.reset();
}

void AddRawInput(inference::ModelInferRequest* request, const std::string& name,
                 const std::string& datatype, const std::vector<int64_t>& shape,
                 std::string bytes) {
  auto* input = request->add_inputs();
  input->set_name(name);
  input->set_datatype(datatype);
  for (int64_t dim : shape) input->add_shape(dim);
  request->add_raw_input_contents(std::move(bytes));
}

std::vector<std::string> DecodeBytesTensor(const std::string& raw) {
  std::vector<std::string> elements;
  size_t offset = 0;
  while (offset + 4 <= raw.size()) {
    uint32_t length = 0;
    std::memcpy(&length, raw.data() + offset, 4);
    elements.push_back(raw.substr(offset + 4, length));
    offset += 4 + length;
  }
  return elements;
}

std::string ReadFileOrDie(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

}  // namespace inferd::testing
