// Classifies one iris flower with the installed inferd client library.
//
//   consumer HOST:PORT

#include <inferd/client.h>

#include <chrono>
#include <cstdio>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: consumer HOST:PORT\n");
    return 2;
  }
  inferd::client::Client client(argv[1]);
  inferd::client::InferRequest request("iris");
  request
      .AddInput("features", {1, 4}, std::vector<float>{5.1f, 3.5f, 1.4f, 0.2f})
      .AddClassification("probabilities");
  const inferd::client::InferResult result =
      client.Infer(request, std::chrono::seconds(10));
  if (!result.ok()) {
    std::fprintf(stderr, "ModelInfer failed: %d: %s\n",
                 static_cast<int>(result.status().error_code()),
                 result.status().error_message().c_str());
    return 1;
  }
  const auto classes = result.output("probabilities")->Classifications();
  if (!classes || classes->empty()) {
    std::fprintf(stderr, "no classification in the answer\n");
    return 1;
  }
  std::printf("%s (confidence %g) from %s version %s\n",
              classes->front().label.c_str(), classes->front().score,
              result.model_name().c_str(), result.model_version().c_str());
  return 0;
}
