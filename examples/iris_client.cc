// Classifies a few iris flowers with a running inferd, using the client
// library (client/include/inferd/client.h) and the classification extension.
//
//   build/bin/iris-client --server=127.0.0.1:8001
//   build/bin/iris-client --flower="6.3,3.3,6.0,2.5;5.0,3.4,1.5,0.2"

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "inferd/client.h"

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

  std::vector<float> features;
  for (const auto& flower : flowers) {
    if (flower.size() != 4) {
      std::fprintf(stderr, "each --flower needs 4 measurements\n");
      return 2;
    }
    features.insert(features.end(), flower.begin(), flower.end());
  }
  inferd::client::InferRequest request(absl::GetFlag(FLAGS_model));
  request
      .AddInput("features", {static_cast<int64_t>(flowers.size()), 4}, features)
      .AddClassification("probabilities");

  const inferd::client::Client client(absl::GetFlag(FLAGS_server));
  const inferd::client::InferResult result =
      client.Infer(request, std::chrono::seconds(10));
  if (!result.ok()) {
    std::fprintf(stderr, "ModelInfer failed: %d: %s\n",
                 static_cast<int>(result.status().error_code()),
                 result.status().error_message().c_str());
    return 1;
  }
  const inferd::client::Tensor* output = result.output("probabilities");
  const auto classes =
      output == nullptr ? std::nullopt : output->Classifications();
  if (!classes || classes->size() != flowers.size()) {
    std::fprintf(stderr, "no classification of every flower in the answer\n");
    return 1;
  }
  for (size_t i = 0; i < flowers.size(); ++i) {
    std::printf("[%s] -> %s (confidence %g)\n",
                absl::StrJoin(flowers[i], ", ").c_str(),
                (*classes)[i].label.c_str(), (*classes)[i].score);
  }
  std::printf("answered by %s version %s\n", result.model_name().c_str(),
              result.model_version().c_str());
  return 0;
}
