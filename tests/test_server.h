#ifndef INFERD_TESTS_TEST_SERVER_H_
#define INFERD_TESTS_TEST_SERVER_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "metrics/metrics.h"
#include "model_store/model.h"
#include "model_store/model_repository.h"
#include "model_store/test_util.h"
#include "proto/inference.grpc.pb.h"
#include "service/server.h"

namespace inferd::testing {

// A real inferd in this process on 127.0.0.1:<free port>, serving a
// repository through `loader` (TorchModelLoader when null), plus a client
// stub connected to it. Shuts down in the destructor.
class TestServer {
 public:
  static std::unique_ptr<TestServer> Start(const std::string& root,
                                           ModelLoader* loader = nullptr);
  // Same, with the repository's control mode and poll interval.
  static std::unique_ptr<TestServer> Start(const std::string& root,
                                           ModelLoader* loader,
                                           ControlMode mode,
                                           absl::Duration poll_interval);
  // Same (control mode none), serving with `options` (its grpc_port is
  // replaced by 0), the stub's channel made with `credentials` (insecure
  // when null) and `channel_args`.
  static std::unique_ptr<TestServer> StartWithOptions(
      const std::string& root, ServerOptions options,
      std::shared_ptr<grpc::ChannelCredentials> credentials = nullptr,
      const grpc::ChannelArguments& channel_args = {});
  ~TestServer();

  inference::GRPCInferenceService::Stub& stub() { return *stub_; }
  std::shared_ptr<grpc::Channel> channel() { return channel_; }
  ModelRepository& repository() { return *repository_; }
  // What the repository did on its own threads (state changes, polls).
  RecordingObserver& observer() { return observer_; }
  InferenceServer& server() { return *server_; }
  metrics::ServerMetrics& metrics() { return *metrics_; }
  int port() const { return server_->port(); }

 private:
  static std::unique_ptr<TestServer> DoStart(
      const std::string& root, ModelLoader* loader, ControlMode mode,
      absl::Duration poll_interval, ServerOptions options,
      std::shared_ptr<grpc::ChannelCredentials> credentials,
      const grpc::ChannelArguments& channel_args);

  std::unique_ptr<ModelLoader> owned_loader_;
  RecordingObserver observer_;  // outlives the repository
  std::unique_ptr<metrics::ServerMetrics> metrics_;
  std::unique_ptr<ModelRepository> repository_;
  std::unique_ptr<InferenceServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<inference::GRPCInferenceService::Stub> stub_;
};

// Builders for requests and readers for responses.
template <typename T>
std::string RawBytes(const std::vector<T>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()),
                     values.size() * sizeof(T));
}

template <typename T>
std::vector<T> FromRaw(const std::string& bytes) {
  std::vector<T> values(bytes.size() / sizeof(T));
  std::memcpy(values.data(), bytes.data(), values.size() * sizeof(T));
  return values;
}

// Adds a raw input to `request`.
void AddRawInput(inference::ModelInferRequest* request, const std::string& name,
                 const std::string& datatype, const std::vector<int64_t>& shape,
                 std::string bytes);

// Decodes BYTES elements (4-byte little-endian length + bytes).
std::vector<std::string> DecodeBytesTensor(const std::string& raw);

// Reads a whole file into memory; fails the test when it cannot.
std::string ReadFileOrDie(const std::string& path);

}  // namespace inferd::testing

#endif  // INFERD_TESTS_TEST_SERVER_H_
