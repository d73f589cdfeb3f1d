// Classifies a few iris flowers with a running inferd, using the C++ stubs
// generated from proto/inference.proto and the classification extension.
//
//   build/bin/iris-client --server=127.0.0.1:8001
//   build/bin/iris-client --flower=6.3,3.3,6.0,2.5 --flower=5.0,3.4,1.5,0.2

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "proto/inference.grpc.pb.h"

ABSL_FLAG(std::string, server, "127.0.0.1:8001", "inferd gRPC address");
ABSL_FLAG(std::string, model, "iris", "model name");
ABSL_FLAG(std::string, flower, "",
          "sepal length,sepal width,petal length,petal width in cm; several "
          "flowers separated by ';' (default: three sample flowers)");

namespace {

std::vector<std::vector<float>> Flowers() {
  std::vector<std::vector<float>> flowers;
  for (absl::string_view text : absl::StrSplit(absl::GetFlag(FLAGS_flower), ';',
                                               absl::SkipWhitespace())) {
    std::vector<float> row;
    for (absl::string_view field : absl::StrSplit(text, ',')) {
      float value = 0;
      if (!absl::SimpleAtof(field, &value)) {
        std::fprintf(stderr, "--flower=%s: not a number: %s\n",
                     std::string(text).c_str(), std::string(field).c_str());
        std::exit(2);
      }
      row.push_back(value);
    }
    flowers.push_back(row);
  }
  if (flowers.empty()) {
    flowers = {{5.1f, 3.5f, 1.4f, 0.2f},
               {6.4f, 3.2f, 4.5f, 1.5f},
               {6.3f, 3.3f, 6.0f, 2.5f}};
  }
  return flowers;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const std::vector<std::vector<float>> flowers = Flowers();

  inference::ModelInferRequest request;
  request.set_model_name(absl::GetFlag(FLAGS_model));
  auto* input = request.add_inputs();
  input->set_name("features");
  input->set_datatype("FP32");
  input->add_shape(static_cast<int64_t>(flowers.size()));
  input->add_shape(4);
  std::string* raw = request.add_raw_input_contents();
  for (const auto& flower : flowers) {
    if (flower.size() != 4) {
      std::fprintf(stderr, "each --flower needs 4 measurements\n");
      return 2;
    }
    // x86 and ARM are little-endian, as the protocol requires.
    raw->append(reinterpret_cast<const char*>(flower.data()),
                flower.size() * sizeof(float));
  }
  auto* output = request.add_outputs();
  output->set_name("probabilities");
  (*output->mutable_parameters())["classification"].set_int64_param(1);

  auto stub = inference::GRPCInferenceService::NewStub(grpc::CreateChannel(
      absl::GetFlag(FLAGS_server), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  inference::ModelInferResponse response;
  grpc::Status status = stub->ModelInfer(&context, request, &response);
  if (!status.ok()) {
    std::fprintf(stderr, "ModelInfer failed: %s: %s\n",
                 std::to_string(status.error_code()).c_str(),
                 status.error_message().c_str());
    return 1;
  }
  // BYTES elements: 4-byte little-endian length, then "score:index:label".
  const std::string& bytes = response.raw_output_contents(0);
  size_t offset = 0;
  for (const auto& flower : flowers) {
    uint32_t length = 0;
    std::memcpy(&length, bytes.data() + offset, 4);
    const std::string entry = bytes.substr(offset + 4, length);
    offset += 4 + length;
    std::vector<std::string> parts = absl::StrSplit(entry, ':');
    std::printf("[%s] -> %s (confidence %s)\n",
                absl::StrJoin(flower, ", ").c_str(), parts.back().c_str(),
                parts.front().c_str());
  }
  std::printf("answered by %s version %s\n", response.model_name().c_str(),
              response.model_version().c_str());
  return 0;
}
