#include "model_store/request_validator.h"

#include <limits>
#include <string>

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/client_text.h"
#include "model_store/data_type.h"
#include "model_store/shape.h"

namespace inferd {
namespace {

// The shape the config allows, with -1 for the batch dimension and for
// variable dims.
std::vector<int64_t> ExpectedShape(const inference::ModelConfig& config,
                                   const inference::ModelInput& input) {
  std::vector<int64_t> expected;
  if (config.max_batch_size() > 0) expected.push_back(-1);
  expected.insert(expected.end(), input.dims().begin(), input.dims().end());
  return expected;
}

absl::Status CheckShape(const inference::ModelConfig& config,
                        const inference::ModelInput& input,
                        const InputTensor& tensor, size_t* byte_size) {
  const std::vector<int64_t> expected = ExpectedShape(config, input);
  const std::string prefix =
      absl::StrCat("input \"", ClientText(tensor.name), "\": ");
  if (tensor.shape.size() != expected.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat(prefix, "expected shape ", ShapeString(expected), ", got ",
                     ClientText(ShapeString(tensor.shape))));
  }
  const size_t element_size = ElementSize(input.data_type());
  if (element_size == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        prefix, "datatype ", WireName(input.data_type()), " is not supported"));
  }
  for (size_t d = 0; d < expected.size(); ++d) {
    const int64_t dim = tensor.shape[d];
    if (dim < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat(prefix, "every dimension must be >= 1, got shape ",
                       ClientText(ShapeString(tensor.shape))));
    }
    if (expected[d] != -1 && dim != expected[d]) {
      return absl::InvalidArgumentError(
          absl::StrCat(prefix, "expected shape ", ShapeString(expected),
                       ", got ", ClientText(ShapeString(tensor.shape))));
    }
  }
  const std::optional<int64_t> bytes = ByteCount(tensor.shape, element_size);
  if (!bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(prefix, "shape ", ClientText(ShapeString(tensor.shape)),
                     " has too many elements"));
  }
  *byte_size = static_cast<size_t>(*bytes);
  return absl::OkStatus();
}

absl::Status CheckInput(const inference::ModelConfig& config,
                        const inference::ModelInput& input,
                        const InputTensor& tensor) {
  const std::string expected_type = WireName(input.data_type());
  if (tensor.datatype != expected_type) {
    return absl::InvalidArgumentError(absl::StrCat(
        "input \"", ClientText(tensor.name), "\": expected datatype ",
        expected_type, ", got ", ClientText(tensor.datatype)));
  }
  size_t byte_size = 0;
  if (absl::Status s = CheckShape(config, input, tensor, &byte_size); !s.ok()) {
    return s;
  }
  if (tensor.data.size() != byte_size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "input \"", ClientText(tensor.name), "\": shape ",
        ClientText(ShapeString(tensor.shape)), " of ", expected_type, " needs ",
        byte_size, " bytes, got ", tensor.data.size()));
  }
  return absl::OkStatus();
}

absl::Status ResolveInputs(const inference::ModelConfig& config,
                           const InferRequest& request,
                           ValidatedRequest* result) {
  result->inputs.assign(config.input_size(), nullptr);
  for (const InputTensor& tensor : request.inputs) {
    int index = -1;
    for (int i = 0; i < config.input_size(); ++i) {
      if (config.input(i).name() == tensor.name) index = i;
    }
    if (index < 0) {
      std::vector<std::string> names;
      for (const auto& input : config.input()) names.push_back(input.name());
      return absl::InvalidArgumentError(absl::StrCat(
          "unexpected input \"", ClientText(tensor.name), "\"; model ",
          config.name(), " expects inputs [", absl::StrJoin(names, ", "), "]"));
    }
    if (result->inputs[index] != nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "input \"", ClientText(tensor.name), "\" is given more than once"));
    }
    result->inputs[index] = &tensor;
  }
  for (int i = 0; i < config.input_size(); ++i) {
    if (result->inputs[i] == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("missing input \"", config.input(i).name(),
                       "\" required by model ", config.name()));
    }
  }
  return absl::OkStatus();
}

absl::Status ResolveOutputs(const inference::ModelConfig& config,
                            const InferRequest& request,
                            ValidatedRequest* result) {
  if (request.outputs.empty()) {
    for (int i = 0; i < config.output_size(); ++i) {
      result->outputs.push_back(OutputSelection{i, 0});
    }
    return absl::OkStatus();
  }
  for (const RequestedOutput& wanted : request.outputs) {
    int index = -1;
    for (int i = 0; i < config.output_size(); ++i) {
      if (config.output(i).name() == wanted.name) index = i;
    }
    if (index < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown output \"", ClientText(wanted.name),
                       "\" requested from model ", config.name()));
    }
    if (wanted.classify && wanted.classification < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("output \"", ClientText(wanted.name),
                       "\": parameter classification must be >= 1, got ",
                       wanted.classification));
    }
    const inference::DataType type = config.output(index).data_type();
    if (wanted.classification > 0 &&
        (type == inference::TYPE_FP16 || type == inference::TYPE_BF16)) {
      return absl::InvalidArgumentError(
          absl::StrCat("output \"", ClientText(wanted.name),
                       "\": classification is not supported for ",
                       ConfigName(type), " outputs"));
    }
    result->outputs.push_back(OutputSelection{index, wanted.classification});
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ValidatedRequest> ValidateRequest(
    const inference::ModelConfig& config, const InferRequest& request) {
  ValidatedRequest result;
  if (absl::Status s = ResolveInputs(config, request, &result); !s.ok()) {
    return s;
  }
  const bool batched = config.max_batch_size() > 0;
  size_t key = 0;
  for (int i = 0; i < config.input_size(); ++i) {
    const InputTensor& tensor = *result.inputs[i];
    if (absl::Status s = CheckInput(config, config.input(i), tensor); !s.ok()) {
      return s;
    }
    if (!batched) continue;
    if (i == 0) {
      result.rows = tensor.shape[0];
    } else if (tensor.shape[0] != result.rows) {
      return absl::InvalidArgumentError(absl::StrCat(
          "input \"", ClientText(tensor.name), "\": batch dimension ",
          tensor.shape[0], " differs from input \"", result.inputs[0]->name,
          "\"'s ", result.rows));
    }
    key = absl::HashOf(key, absl::MakeConstSpan(tensor.shape).subspan(1));
  }
  if (batched && result.rows > config.max_batch_size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "batch dimension ", result.rows, " exceeds max_batch_size ",
        config.max_batch_size(), " of model ", config.name()));
  }
  result.shape_key = key;
  if (absl::Status s = ResolveOutputs(config, request, &result); !s.ok()) {
    return s;
  }
  return result;
}

}  // namespace inferd
