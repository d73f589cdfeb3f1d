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

void RecordingObserver::OnVersionState(const std::string& model,
                                       const VersionStatus& status) {
  absl::MutexLock lock(&mu_);
  seen_[{model, status.version}].push_back(status.state);
}

void RecordingObserver::OnPollDone() {
  absl::MutexLock lock(&mu_);
  ++polls_;
}

bool RecordingObserver::AwaitState(const std::string& model, int64_t version,
                                   VersionState state, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto now_in = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto it = seen_.find({model, version});
    return it != seen_.end() && it->second.back() == state;
  };
  return mu_.AwaitWithTimeout(absl::Condition(&now_in), timeout);
}

bool RecordingObserver::AwaitReached(const std::string& model, int64_t version,
                                     VersionState state, int times,
                                     absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto reached = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto it = seen_.find({model, version});
    if (it == seen_.end()) return false;
    int count = 0;
    for (VersionState s : it->second) count += s == state;
    return count >= times;
  };
  return mu_.AwaitWithTimeout(absl::Condition(&reached), timeout);
}

bool RecordingObserver::AwaitPolls(uint64_t polls, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto done = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return polls_ >= polls;
  };
  return mu_.AwaitWithTimeout(absl::Condition(&done), timeout);
}

uint64_t RecordingObserver::polls() {
  absl::MutexLock lock(&mu_);
  return polls_;
}

std::vector<VersionState> RecordingObserver::History(const std::string& model,
                                                     int64_t version) {
  absl::MutexLock lock(&mu_);
  auto it = seen_.find({model, version});
  return it == seen_.end() ? std::vector<VersionState>{} : it->second;
}

}  // namespace inferd::testing
