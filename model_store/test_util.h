#ifndef INFERD_MODEL_STORE_TEST_UTIL_H_
#define INFERD_MODEL_STORE_TEST_UTIL_H_

// Helpers for tests of models on real files: the repositories that
// tests/make_test_models.sh writes (the `make_test_models` CTest fixture),
// their configs and validation data, and tensors over test data.

#include <cstdint>
#include <string>
#include <vector>

#include "model_store/model.h"
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

}  // namespace inferd::testing

#endif  // INFERD_MODEL_STORE_TEST_UTIL_H_
