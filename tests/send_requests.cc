// Sends an exact number of iris ModelInfer calls of each kind to a running
// inferd, for tests that compare what the server counted with what was sent:
//   send_requests --server=127.0.0.1:8001 --ok=20 --invalid=5 --unknown=3
// Prints "OK=20 INVALID_ARGUMENT=5 NOT_FOUND=3"; exits 1 if any call got a
// code other than the one its kind must get.

#include <cstdio>
#include <map>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "tests/test_server.h"

ABSL_FLAG(std::string, server, "127.0.0.1:8001", "inferd gRPC address");
ABSL_FLAG(int, ok, 0, "valid one-row iris calls");
ABSL_FLAG(int, invalid, 0, "iris calls with a wrong shape ([1,5])");
ABSL_FLAG(int, unknown, 0, "calls for a model that does not exist");

namespace {

grpc::StatusCode Send(inference::GRPCInferenceService::Stub& stub,
                      const std::string& model, int features) {
  inference::ModelInferRequest request;
  request.set_model_name(model);
  inferd::testing::AddRawInput(
      &request, "features", "FP32", {1, features},
      inferd::testing::RawBytes(std::vector<float>(features, 1.0f)));
  inference::ModelInferResponse response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(30));
  return stub.ModelInfer(&context, request, &response).error_code();
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  auto stub = inference::GRPCInferenceService::NewStub(grpc::CreateChannel(
      absl::GetFlag(FLAGS_server), grpc::InsecureChannelCredentials()));
  struct Kind {
    int count;
    std::string model;
    int features;
    grpc::StatusCode expected;
    const char* name;
  };
  const Kind kinds[] = {
      {absl::GetFlag(FLAGS_ok), "iris", 4, grpc::StatusCode::OK, "OK"},
      {absl::GetFlag(FLAGS_invalid), "iris", 5,
       grpc::StatusCode::INVALID_ARGUMENT, "INVALID_ARGUMENT"},
      {absl::GetFlag(FLAGS_unknown), "no_such_model", 4,
       grpc::StatusCode::NOT_FOUND, "NOT_FOUND"}};
  int wrong = 0;
  for (const Kind& kind : kinds) {
    for (int i = 0; i < kind.count; ++i) {
      if (Send(*stub, kind.model, kind.features) != kind.expected) ++wrong;
    }
    std::printf("%s=%d ", kind.name, kind.count);
  }
  std::printf("\n");
  if (wrong > 0)
    std::fprintf(stderr, "%d calls got an unexpected code\n", wrong);
  return wrong == 0 ? 0 : 1;
}
