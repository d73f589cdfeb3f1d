// inferd's C++ client: ModelInfer calls to an inferd (or any KServe v2 /
// Triton gRPC server) from a backend service.
//
//   #include <inferd/client.h>
//
//   inferd::client::Client client("127.0.0.1:8001");
//   inferd::client::InferRequest request("iris");
//   request.AddInput("features", {1, 4}, std::vector<float>{5.1, 3.5, 1.4,
//   0.2})
//       .AddClassification("probabilities");
//   inferd::client::InferResult result =
//       client.Infer(request, std::chrono::seconds(5));
//   if (!result.ok()) { ... result.status().error_code() ... }
//   auto top = result.output("probabilities")->Classifications();
//
// The header exposes no protobuf type: requests and results are this
// library's own values, and the generated protocol code is linked inside
// it. Tensors travel raw (little-endian, row-major), as the protocol's
// raw_input_contents/raw_output_contents.
//
// Channels: a Client takes its gRPC channel from a process-wide cache keyed
// by target and TLS settings, so every Client (and every copy) for one server
// shares one channel and its HTTP/2 connection, and constructing a Client per
// call costs no new connection. Cached channels live until the process exits.
//
// Retries: a call is retried only when the request was never sent, i.e. the
// channel could not connect (up to ClientOptions::max_connect_attempts).
// Once the request is on its way nothing is retried, whatever the error:
// the server may have run it. gRPC's transparent retry still resends what the
// server's transport refused before processing (e.g. a stream that raced a
// GOAWAY).

#ifndef INFERD_CLIENT_H_
#define INFERD_CLIENT_H_

#include <grpcpp/support/status.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace inference {
class ModelInferRequest;
}  // namespace inference

namespace inferd::client {

namespace internal {
struct Access;
}  // namespace internal

// The protocol's datatype name of a C++ element type ("FP32" for float), or
// nullptr for types that have none. FP16, BF16 and BYTES have no C++ type
// here: build those tensors from raw bytes or with Tensor::OfStrings.
template <typename T>
constexpr const char* DatatypeOf() {
  if constexpr (std::is_same_v<T, bool>)
    return "BOOL";
  else if constexpr (std::is_same_v<T, int8_t>)
    return "INT8";
  else if constexpr (std::is_same_v<T, int16_t>)
    return "INT16";
  else if constexpr (std::is_same_v<T, int32_t>)
    return "INT32";
  else if constexpr (std::is_same_v<T, int64_t>)
    return "INT64";
  else if constexpr (std::is_same_v<T, uint8_t>)
    return "UINT8";
  else if constexpr (std::is_same_v<T, uint16_t>)
    return "UINT16";
  else if constexpr (std::is_same_v<T, uint32_t>)
    return "UINT32";
  else if constexpr (std::is_same_v<T, uint64_t>)
    return "UINT64";
  else if constexpr (std::is_same_v<T, float>)
    return "FP32";
  else if constexpr (std::is_same_v<T, double>)
    return "FP64";
  else
    return nullptr;
}

// One entry of a classification output: the protocol's "score:index:label"
// (label empty when the model has no labels).
struct Classification {
  double score = 0;
  int64_t index = 0;
  std::string label;
};

// A named tensor: datatype, shape and raw little-endian row-major bytes
// (BYTES: each element a 4-byte little-endian length and its bytes).
class Tensor {
 public:
  Tensor() = default;
  Tensor(std::string name, std::string datatype, std::vector<int64_t> shape,
         std::string raw)
      : name_(std::move(name)),
        datatype_(std::move(datatype)),
        shape_(std::move(shape)),
        raw_(std::move(raw)) {}

  // A tensor of `values`, datatype inferred from T (see DatatypeOf).
  template <typename T>
  static Tensor Of(std::string name, std::vector<int64_t> shape,
                   const std::vector<T>& values) {
    static_assert(DatatypeOf<T>() != nullptr,
                  "no protocol datatype for this element type");
    std::string raw(values.size() * sizeof(T), '\0');
    if constexpr (std::is_same_v<T, bool>) {
      for (size_t i = 0; i < values.size(); ++i) raw[i] = values[i] ? 1 : 0;
    } else if (!values.empty()) {
      std::memcpy(raw.data(), values.data(), raw.size());
    }
    return Tensor(std::move(name), DatatypeOf<T>(), std::move(shape),
                  std::move(raw));
  }
  // A BYTES tensor of `elements`.
  static Tensor OfStrings(std::string name, std::vector<int64_t> shape,
                          const std::vector<std::string>& elements);

  const std::string& name() const { return name_; }
  const std::string& datatype() const { return datatype_; }
  const std::vector<int64_t>& shape() const { return shape_; }
  const std::string& raw() const { return raw_; }
  // The product of the shape (1 for a scalar); -1 when a dimension is
  // negative or the product overflows.
  int64_t ElementCount() const;

  // The values as T: nullopt unless the datatype is DatatypeOf<T>() and the
  // bytes hold exactly ElementCount() values.
  template <typename T>
  std::optional<std::vector<T>> As() const {
    static_assert(DatatypeOf<T>() != nullptr,
                  "no protocol datatype for this element type");
    const int64_t count = ElementCount();
    if (datatype_ != DatatypeOf<T>() || count < 0 ||
        raw_.size() != static_cast<size_t>(count) * sizeof(T)) {
      return std::nullopt;
    }
    std::vector<T> values(static_cast<size_t>(count));
    if constexpr (std::is_same_v<T, bool>) {
      for (size_t i = 0; i < values.size(); ++i) values[i] = raw_[i] != 0;
    } else if (!values.empty()) {
      std::memcpy(values.data(), raw_.data(), raw_.size());
    }
    return values;
  }
  // The elements of a BYTES tensor; nullopt for another datatype, or bytes
  // that are not ElementCount() well-formed elements.
  std::optional<std::vector<std::string>> Strings() const;
  // The entries of a classification output (asked for with
  // InferRequest::AddClassification), row-major: shape().back() per row,
  // best first. nullopt when the tensor is not BYTES or an entry is not
  // "score:index[:label]".
  std::optional<std::vector<Classification>> Classifications() const;

 private:
  friend class InferRequest;  // takes an input's bytes without a copy

  std::string name_;
  std::string datatype_;
  std::vector<int64_t> shape_;
  std::string raw_;
};

// A ModelInfer request, built once and sendable any number of times.
// Builder methods chain; a malformed input (values that do not fill its
// shape, an unknown datatype) is recorded in status() and Client::Infer
// returns that status without sending anything.
class InferRequest {
 public:
  // Empty version: the server picks one by the model's version policy.
  explicit InferRequest(std::string model_name, std::string model_version = "");
  InferRequest(const InferRequest& other);
  InferRequest& operator=(const InferRequest& other);
  InferRequest(InferRequest&& other) noexcept;
  InferRequest& operator=(InferRequest&& other) noexcept;
  ~InferRequest();

  // Echoed in the result.
  InferRequest& SetId(std::string id);
  // Takes the tensor's bytes (pass an rvalue to avoid copying them).
  InferRequest& AddInput(Tensor tensor);
  template <typename T>
  InferRequest& AddInput(std::string name, std::vector<int64_t> shape,
                         const std::vector<T>& values) {
    return AddInput(Tensor::Of(std::move(name), std::move(shape), values));
  }
  // Asks for this output; with none asked for, the server returns them all.
  InferRequest& AddOutput(std::string name);
  // Asks for `output` as the top `top_n` classes per row (see
  // Tensor::Classifications) instead of its values.
  InferRequest& AddClassification(std::string output, int64_t top_n = 1);
  // Triton's schedule policy: the model's priority level (1 is highest) and
  // how long the request may wait in the queue.
  InferRequest& SetPriority(uint64_t level);
  InferRequest& SetQueueTimeout(std::chrono::microseconds timeout);

  const std::string& model_name() const;
  // OK, or INVALID_ARGUMENT naming the first malformed input.
  const grpc::Status& status() const { return status_; }

 private:
  friend struct internal::Access;
  inference::ModelInferRequest& Proto();

  std::unique_ptr<inference::ModelInferRequest> proto_;
  grpc::Status status_;
};

// What a call returned: a status and, when OK, the outputs.
class InferResult {
 public:
  InferResult() = default;
  explicit InferResult(grpc::Status status) : status_(std::move(status)) {}

  bool ok() const { return status_.ok(); }
  // The call's gRPC status: the server's code and message, or the client's
  // (UNAVAILABLE: no connection; DEADLINE_EXCEEDED: the deadline passed
  // before an answer came; INVALID_ARGUMENT: a malformed InferRequest).
  const grpc::Status& status() const { return status_; }
  const std::string& model_name() const { return model_name_; }
  const std::string& model_version() const { return model_version_; }
  const std::string& id() const { return id_; }
  const std::vector<Tensor>& outputs() const { return outputs_; }
  // The output named `name`, or nullptr.
  const Tensor* output(std::string_view name) const;
  // How many times the call tried to get a connection: 1 when the channel
  // connected (or was connected) at once; 0 when nothing was tried (a
  // malformed request, a deadline already past).
  int connect_attempts() const { return connect_attempts_; }

 private:
  friend struct internal::Access;
  grpc::Status status_;
  std::string model_name_;
  std::string model_version_;
  std::string id_;
  std::vector<Tensor> outputs_;
  int connect_attempts_ = 0;
};

// TLS for the channel. PEM text, not file names.
struct TlsOptions {
  // CA certificates the server's certificate must chain to; empty: gRPC's
  // default roots.
  std::string root_certs;
  // Mutual TLS: this client's certificate chain and its private key; both
  // empty: no client certificate.
  std::string cert_chain;
  std::string private_key;
};

struct ClientOptions {
  // Unset: plaintext.
  std::optional<TlsOptions> tls;
  // Attempts to connect before a call fails with UNAVAILABLE (request not
  // sent); at least 1. The call's deadline bounds them too.
  int max_connect_attempts = 3;
  // How long one attempt waits for the connection. A refused connection
  // ends the first attempt at once; gRPC then reports the channel failed
  // until it connects, so a later attempt that fails takes this long.
  std::chrono::milliseconds connect_timeout{1000};
  // Pause after the first failed attempt, doubled after each further one.
  std::chrono::milliseconds initial_backoff{100};
};

// A handle on one server. Cheap to construct and copy (see the channel cache
// above); thread-safe: one Client may serve any number of threads.
class Client {
 public:
  // `target`: gRPC target, e.g. "127.0.0.1:8001" or "dns:///inferd:8001".
  explicit Client(std::string target, ClientOptions options = {});

  // Runs `request`; the call ends by `deadline`, connection attempts
  // included. Blocks.
  InferResult Infer(const InferRequest& request,
                    std::chrono::system_clock::time_point deadline) const;
  InferResult Infer(const InferRequest& request,
                    std::chrono::milliseconds timeout) const {
    return Infer(request, std::chrono::system_clock::now() + timeout);
  }

  const std::string& target() const;

 private:
  struct Impl;
  std::shared_ptr<const Impl> impl_;
};

}  // namespace inferd::client

#endif  // INFERD_CLIENT_H_
