#include "bench/limit_model.h"

#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "model_store/data_type.h"
#include "model_store/repository_scan.h"

namespace inferd::bench {

namespace {

// The directory of the highest numbered version under `model_dir`.
absl::StatusOr<std::string> HighestVersionDir(const std::string& model_dir) {
  absl::StatusOr<ModelDirScan> scan = ScanModelDir(model_dir);
  if (!scan.ok()) return scan.status();
  const std::map<int64_t, FileSet>& versions = scan->versions;
  if (versions.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(model_dir, ": no version directory (expected ", model_dir,
                     "/1/model.pt)"));
  }
  return absl::StrCat(model_dir, "/", versions.rbegin()->first);
}

}  // namespace

absl::Status CheckFeedable(const inference::ModelConfig& config) {
  for (const inference::ModelInput& input : config.input()) {
    if (input.data_type() != inference::TYPE_FP32) {
      return absl::InvalidArgumentError(
          absl::StrCat("input \"", input.name(), "\": data_type is ",
                       ConfigName(input.data_type()),
                       "; this benchmark only generates TYPE_FP32 inputs"));
    }
    for (int64_t dim : input.dims()) {
      if (dim < 1) {
        return absl::InvalidArgumentError(
            absl::StrCat("input \"", input.name(), "\": dims [",
                         absl::StrJoin(input.dims(), ","),
                         "] has a variable dimension; expected fixed dims"));
      }
    }
  }
  return absl::OkStatus();
}

std::vector<Tensor> MakeInputs(const inference::ModelConfig& config,
                               int64_t rows, std::mt19937* random) {
  std::normal_distribution<float> normal;
  std::vector<Tensor> inputs;
  for (const inference::ModelInput& input : config.input()) {
    Tensor tensor;
    tensor.dtype = inference::TYPE_FP32;
    if (config.max_batch_size() > 0) {
      tensor.shape.push_back(rows);
    }
    tensor.shape.insert(tensor.shape.end(), input.dims().begin(),
                        input.dims().end());
    int64_t elements = 1;
    for (int64_t dim : tensor.shape) {
      elements *= dim;
    }
    auto values = std::make_shared<std::vector<float>>(elements);
    for (float& v : *values) {
      v = normal(*random);
    }
    tensor.data = reinterpret_cast<const char*>(values->data());
    tensor.byte_size = values->size() * sizeof(float);
    tensor.owner = std::move(values);
    inputs.push_back(std::move(tensor));
  }
  return inputs;
}

std::vector<int64_t> UsableBatchSizes(const inference::ModelConfig& config,
                                      const std::vector<int64_t>& wanted) {
  if (config.max_batch_size() == 0) {
    std::fprintf(stderr,
                 "note: max_batch_size 0 (no batch dimension): one level, "
                 "inputs shaped exactly as dims\n");
    return {1};
  }
  std::vector<int64_t> sizes;
  for (int64_t size : wanted) {
    if (size <= config.max_batch_size()) {
      sizes.push_back(size);
    } else {
      std::fprintf(stderr, "note: batch %lld skipped (max_batch_size %d)\n",
                   static_cast<long long>(size), config.max_batch_size());
    }
  }
  return sizes;
}

absl::StatusOr<LimitModelDir> ReadModelDir(const std::string& model_dir) {
  const std::string name = std::filesystem::path(model_dir).filename();
  absl::StatusOr<ParsedConfig> read =
      ReadModelConfig(absl::StrCat(model_dir, "/config.pbtxt"), name);
  if (!read.ok()) {
    return read.status();
  }
  for (const std::string& field : read->ignored_fields) {
    std::fprintf(stderr, "note: config.pbtxt %s (ignored, as inferd does)\n",
                 field.c_str());
  }
  absl::StatusOr<std::string> dir = HighestVersionDir(model_dir);
  if (!dir.ok()) {
    return dir.status();
  }
  return LimitModelDir{std::move(*read), std::move(*dir)};
}

}  // namespace inferd::bench
