// Tensors, requests and results of the client library (inferd/client.h).

#include <charconv>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "client/internal.h"
#include "inferd/client.h"
#include "proto/inference.pb.h"

namespace inferd::client {

// Raw tensor contents are little-endian on the wire; this code copies them
// to and from memory as they are.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "inferd's client assumes a little-endian machine");

namespace {

// Bytes per element of a fixed-size datatype; 0 for BYTES; -1 when unknown.
int ElementSize(const std::string& datatype) {
  static const std::pair<const char*, int> kSizes[] = {
      {"BOOL", 1},  {"INT8", 1},   {"UINT8", 1}, {"INT16", 2},  {"UINT16", 2},
      {"FP16", 2},  {"BF16", 2},   {"INT32", 4}, {"UINT32", 4}, {"FP32", 4},
      {"INT64", 8}, {"UINT64", 8}, {"FP64", 8},  {"BYTES", 0}};
  for (const auto& [name, size] : kSizes) {
    if (datatype == name) return size;
  }
  return -1;
}

std::string ShapeText(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) text += ",";
    text += std::to_string(shape[i]);
  }
  return text + "]";
}

// Why `tensor` cannot be sent as an input; empty when it can.
std::string InputProblem(const Tensor& tensor) {
  const std::string what = "input \"" + tensor.name() + "\": ";
  if (tensor.name().empty()) return "an input has no name";
  const int size = ElementSize(tensor.datatype());
  if (size < 0) {
    return what + "unknown datatype \"" + tensor.datatype() + "\"";
  }
  const int64_t count = tensor.ElementCount();
  if (count < 0) {
    return what + "shape " + ShapeText(tensor.shape()) +
           " has a negative dimension or too many elements";
  }
  if (size == 0) {
    return tensor.Strings()
               ? ""
               : what + "BYTES contents are not " + std::to_string(count) +
                     " length-prefixed elements";
  }
  const uint64_t want = static_cast<uint64_t>(count) * size;
  if (tensor.raw().size() != want) {
    return what + "shape " + ShapeText(tensor.shape()) + " of " +
           tensor.datatype() + " needs " + std::to_string(want) + " bytes (" +
           std::to_string(count) + " elements), got " +
           std::to_string(tensor.raw().size());
  }
  return "";
}

template <typename T>
bool ParseNumber(std::string_view text, T* value) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, *value);
  return ec == std::errc() && ptr == end && !text.empty();
}

}  // namespace

Tensor Tensor::OfStrings(std::string name, std::vector<int64_t> shape,
                         const std::vector<std::string>& elements) {
  std::string raw;
  for (const std::string& element : elements) {
    const uint32_t length = static_cast<uint32_t>(element.size());
    raw.append(reinterpret_cast<const char*>(&length), sizeof(length));
    raw += element;
  }
  return Tensor(std::move(name), "BYTES", std::move(shape), std::move(raw));
}

int64_t Tensor::ElementCount() const {
  int64_t count = 1;
  for (int64_t dim : shape_) {
    if (dim < 0 ||
        (dim > 0 && count > std::numeric_limits<int64_t>::max() / dim)) {
      return -1;
    }
    count *= dim;
  }
  return count;
}

std::optional<std::vector<std::string>> Tensor::Strings() const {
  const int64_t count = ElementCount();
  if (datatype_ != "BYTES" || count < 0) return std::nullopt;
  std::vector<std::string> elements;
  size_t offset = 0;
  while (offset < raw_.size()) {
    uint32_t length = 0;
    if (raw_.size() - offset < sizeof(length)) return std::nullopt;
    std::memcpy(&length, raw_.data() + offset, sizeof(length));
    offset += sizeof(length);
    if (raw_.size() - offset < length) return std::nullopt;
    elements.push_back(raw_.substr(offset, length));
    offset += length;
  }
  if (elements.size() != static_cast<uint64_t>(count)) return std::nullopt;
  return elements;
}

std::optional<std::vector<Classification>> Tensor::Classifications() const {
  std::optional<std::vector<std::string>> entries = Strings();
  if (!entries) return std::nullopt;
  std::vector<Classification> classes;
  for (const std::string& entry : *entries) {
    // "score:index:label"; the label may itself hold ':'.
    const size_t first = entry.find(':');
    if (first == std::string::npos) return std::nullopt;
    const size_t second = entry.find(':', first + 1);
    const std::string_view view(entry);
    Classification c;
    if (!ParseNumber(view.substr(0, first), &c.score) ||
        !ParseNumber(view.substr(first + 1, second == std::string::npos
                                                ? std::string::npos
                                                : second - first - 1),
                     &c.index)) {
      return std::nullopt;
    }
    if (second != std::string::npos) c.label = entry.substr(second + 1);
    classes.push_back(std::move(c));
  }
  return classes;
}

InferRequest::InferRequest(std::string model_name, std::string model_version)
    : proto_(std::make_unique<inference::ModelInferRequest>()) {
  proto_->set_model_name(std::move(model_name));
  proto_->set_model_version(std::move(model_version));
}

InferRequest::InferRequest(const InferRequest& other)
    : proto_(std::make_unique<inference::ModelInferRequest>(
          internal::Access::Wire(other))),
      status_(other.status_) {}

InferRequest& InferRequest::operator=(const InferRequest& other) {
  if (this != &other) {
    proto_ = std::make_unique<inference::ModelInferRequest>(
        internal::Access::Wire(other));
    status_ = other.status_;
  }
  return *this;
}

InferRequest::InferRequest(InferRequest&& other) noexcept = default;
InferRequest& InferRequest::operator=(InferRequest&& other) noexcept = default;
InferRequest::~InferRequest() = default;

InferRequest& InferRequest::SetId(std::string id) {
  Proto().set_id(std::move(id));
  return *this;
}

InferRequest& InferRequest::AddInput(Tensor tensor) {
  if (!status_.ok()) return *this;
  if (std::string problem = InputProblem(tensor); !problem.empty()) {
    status_ = grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, problem);
    return *this;
  }
  inference::ModelInferRequest& proto = Proto();
  auto* input = proto.add_inputs();
  input->set_name(std::move(tensor.name_));
  input->set_datatype(std::move(tensor.datatype_));
  for (int64_t dim : tensor.shape_) input->add_shape(dim);
  *proto.add_raw_input_contents() = std::move(tensor.raw_);
  return *this;
}

InferRequest& InferRequest::AddOutput(std::string name) {
  Proto().add_outputs()->set_name(std::move(name));
  return *this;
}

InferRequest& InferRequest::AddClassification(std::string output,
                                              int64_t top_n) {
  if (top_n < 1) {
    if (status_.ok()) {
      status_ =
          grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                       "output \"" + output + "\": classification of " +
                           std::to_string(top_n) + " classes; expected >= 1");
    }
    return *this;
  }
  auto* wanted = Proto().add_outputs();
  wanted->set_name(std::move(output));
  (*wanted->mutable_parameters())["classification"].set_int64_param(top_n);
  return *this;
}

InferRequest& InferRequest::SetPriority(uint64_t level) {
  (*Proto().mutable_parameters())["priority"].set_uint64_param(level);
  return *this;
}

InferRequest& InferRequest::SetQueueTimeout(std::chrono::microseconds timeout) {
  (*Proto().mutable_parameters())["timeout"].set_int64_param(timeout.count());
  return *this;
}

const std::string& InferRequest::model_name() const {
  return internal::Access::Wire(*this).model_name();
}

inference::ModelInferRequest& InferRequest::Proto() {
  // A moved-from request starts again empty.
  if (proto_ == nullptr) {
    proto_ = std::make_unique<inference::ModelInferRequest>();
  }
  return *proto_;
}

const Tensor* InferResult::output(std::string_view name) const {
  for (const Tensor& tensor : outputs_) {
    if (tensor.name() == name) return &tensor;
  }
  return nullptr;
}

namespace internal {

const inference::ModelInferRequest& Access::Wire(const InferRequest& request) {
  return request.proto_ != nullptr
             ? *request.proto_
             : inference::ModelInferRequest::default_instance();
}

InferResult Access::FromResponse(inference::ModelInferResponse response,
                                 int connect_attempts) {
  InferResult result;
  result.connect_attempts_ = connect_attempts;
  if (response.raw_output_contents_size() != response.outputs_size()) {
    result.status_ = grpc::Status(
        grpc::StatusCode::INTERNAL,
        "the response has " + std::to_string(response.outputs_size()) +
            " outputs and " +
            std::to_string(response.raw_output_contents_size()) +
            " raw_output_contents; this client reads raw outputs only");
    return result;
  }
  result.model_name_ = std::move(*response.mutable_model_name());
  result.model_version_ = std::move(*response.mutable_model_version());
  result.id_ = std::move(*response.mutable_id());
  for (int i = 0; i < response.outputs_size(); ++i) {
    auto* output = response.mutable_outputs(i);
    result.outputs_.emplace_back(
        std::move(*output->mutable_name()),
        std::move(*output->mutable_datatype()),
        std::vector<int64_t>(output->shape().begin(), output->shape().end()),
        std::move(*response.mutable_raw_output_contents(i)));
  }
  return result;
}

}  // namespace internal
}  // namespace inferd::client
