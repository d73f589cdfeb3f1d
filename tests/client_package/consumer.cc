// Classifies one iris flower with the installed inferd client library.
//
//   consumer HOST:PORT

#include <inferd/client.h>

#include <chrono>
#include <cstdio>
#include <optional>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: consumer HOST:PORT\n");
    return 2;
  }
  inferd::client::InferRequest request("iris");
  request
      .AddInput("features", {1, 4}, std::vector<float>{5.1f, 3.5f, 1.4f, 0.2f})
      .AddClassification("probabilities");
  const inferd::client::InferResult result =
      inferd::client::Client(argv[1]).Infer(request, std::chrono::seconds(10));
  const inferd::client::Tensor* output = result.output("probabilities");
  const auto classes = output ? output->Classifications() : std::nullopt;
  if (!classes || classes->empty()) {
    std::fprintf(stderr, "no classification: %s\n",
                 result.status().error_message().c_str());
    return 1;
  }
  std::printf("%s (confidence %g) from %s version %s\n",
              classes->front().label.c_str(), classes->front().score,
              result.model_name().c_str(), result.model_version().c_str());
  return 0;
}
