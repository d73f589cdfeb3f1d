#ifndef INFERD_MODEL_STORE_TEST_UTIL_H_
#define INFERD_MODEL_STORE_TEST_UTIL_H_

// Helpers for tests of models on real files: the repositories that
// tests/make_test_models.sh writes (the `make_test_models` CTest fixture),
// their configs and validation data, and tensors over test data.

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "model_store/model.h"
#include "model_store/model_repository.h"
#include "proto/model_config.pb.h"

namespace inferd::testing {

// $INFERD_TEST_MODELS/<which> ("good", "broken", "big", "zoo"); empty when
// the variable is unset (the test was not started by ctest).
std::string TestModels(const std::string& which);

// The little-endian float32 values of a validation file; empty if unreadable.
std::vector<float> ReadFloats(const std::string& path);

// The validated config of <repo>/<name>/config.pbtxt; fails the test (and
// returns an empty config) when it does not parse or validate.
inference::ModelConfig LoadTestConfig(const std::string& repo,
                                      const std::string& name);

// An FP32 tensor over `values` (borrowed: keep them alive while it is used).
Tensor FloatTensor(const std::vector<float>& values,
                   std::vector<int64_t> shape);

// Records what a ModelRepository does on its own threads (state changes,
// polls), so a test can wait for an event instead of sleeping: each Await
// returns as soon as the event has happened, or false after `timeout`
// (a bound for a broken build, not a delay).
class RecordingObserver : public RepositoryObserver {
 public:
  void OnVersionState(const std::string& model,
                      const VersionStatus& status) override;
  void OnPollDone() override;

  // Waits until the newest state of (model, version) is `state`.
  bool AwaitState(const std::string& model, int64_t version, VersionState state,
                  absl::Duration timeout = absl::Seconds(60));
  // Waits until (model, version) has entered `state` at least `times` times
  // (each load of a version is a new record that goes through the states).
  bool AwaitReached(const std::string& model, int64_t version,
                    VersionState state, int times = 1,
                    absl::Duration timeout = absl::Seconds(60));
  // Waits until `polls` polls have completed in all.
  bool AwaitPolls(uint64_t polls, absl::Duration timeout = absl::Seconds(60));
  uint64_t polls();
  // Every state (model, version) went through, in order.
  std::vector<VersionState> History(const std::string& model, int64_t version);

 private:
  absl::Mutex mu_;
  std::map<std::pair<std::string, int64_t>, std::vector<VersionState>> seen_
      ABSL_GUARDED_BY(mu_);
  uint64_t polls_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace inferd::testing

#endif  // INFERD_MODEL_STORE_TEST_UTIL_H_
