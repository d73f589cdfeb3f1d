// libFuzzer target: a ModelInferRequest off the wire, decoded as gRPC's
// front end decodes it and validated against a model's config as the
// batching queue's entry does (inputs of three datatypes, a batch
// dimension, classification-able output).
#include <cstddef>
#include <cstdint>

#include "google/protobuf/text_format.h"
#include "model_store/model_config.h"
#include "model_store/request_validator.h"
#include "proto/inference.pb.h"
#include "service/tensor_codec.h"

namespace {

const inference::ModelConfig& Config() {
  static const inference::ModelConfig* const config = [] {
    auto* c = new inference::ModelConfig;
    google::protobuf::TextFormat::ParseFromString(
        R"pb(
          name: "model"
          max_batch_size: 8
          input {
            name: "features"
            data_type: TYPE_FP32
            dims: [ 4 ]
          }
          input {
            name: "ids"
            data_type: TYPE_INT64
            dims: [ -1 ]
          }
          input {
            name: "text"
            data_type: TYPE_STRING
            dims: [ 1 ]
          }
          output {
            name: "probabilities"
            data_type: TYPE_FP32
            dims: [ 3 ]
          }
          dynamic_batching { priority_levels: 3 default_priority_level: 2 }
        )pb",
        c);
    inferd::ValidateModelConfig("model", c).IgnoreError();
    return c;
  }();
  return *config;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  inference::ModelInferRequest wire;
  if (!wire.ParseFromArray(data, static_cast<int>(size))) return 0;
  inferd::InferRequest request;
  if (!inferd::DecodeInferRequest(wire, &request).ok()) return 0;
  inferd::ValidateRequest(Config(), request).status().IgnoreError();
  return 0;
}
