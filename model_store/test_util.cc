#include "model_store/test_util.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "model_store/model_config.h"

namespace inferd::testing {

std::string TestModels(const std::string& which) {
  const char* root = std::getenv("INFERD_TEST_MODELS");
  if (root == nullptr || *root == '\0') return "";
  return std::string(root) + "/" + which;
}

std::vector<float> ReadFloats(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  const std::string bytes = s.str();
  std::vector<float> values(bytes.size() / sizeof(float));
  std::memcpy(values.data(), bytes.data(), values.size() * sizeof(float));
  return values;
}

inference::ModelConfig LoadTestConfig(const std::string& repo,
                                      const std::string& name) {
  auto parsed = ReadModelConfig(repo + "/" + name + "/config.pbtxt", name);
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  return parsed.ok() ? parsed->config : inference::ModelConfig();
}

Tensor FloatTensor(const std::vector<float>& values,
                   std::vector<int64_t> shape) {
  Tensor t;
  t.dtype = inference::TYPE_FP32;
  t.shape = std::move(shape);
  t.data = reinterpret_cast<const char*>(values.data());
  t.byte_size = values.size() * sizeof(float);
  return t;
}

}  // namespace inferd::testing
