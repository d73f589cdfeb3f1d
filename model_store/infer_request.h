#ifndef INFERD_MODEL_STORE_INFER_REQUEST_H_
#define INFERD_MODEL_STORE_INFER_REQUEST_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/protocol.h"

namespace inferd {

// One input of an inference request, decoded from the wire but not yet
// checked against the model's config.
struct InputTensor {
  std::string name;
  std::string datatype;  // KServe wire name as sent, e.g. "FP32"
  std::vector<int64_t> shape;
  // Row-major little-endian element bytes. Points into the caller's request
  // message (which must outlive the request) or into `storage`.
  absl::string_view data;
  // Owns the bytes when they had to be converted (typed `contents`).
  std::shared_ptr<const std::string> storage;
};

// An output the caller asked for. With `classify`, the top `classification`
// (≥ 1) entries per row are returned as "<score>:<index>:<label>" strings.
struct RequestedOutput {
  std::string name;
  bool classify = false;
  int64_t classification = 0;
};

struct InferRequest {
  std::string model_name;
  std::string model_version;  // empty: the highest ready version
  std::string id;             // echoed in the response
  std::vector<InputTensor> inputs;
  std::vector<RequestedOutput> outputs;  // empty: every output of the model
  absl::Time deadline = absl::InfiniteFuture();
  // Triton's schedule policy (request parameters "priority" and "timeout").
  // 0: the model's default level; else a level in 1..priority_levels (a
  // priority that is no level is refused when the request is queued).
  uint64_t priority = 0;
  // The request's own queue timeout; zero: none. Honoured only where its
  // level's queue policy has allow_timeout_override, and only when shorter.
  absl::Duration timeout = absl::ZeroDuration();
  // Set by the transport when the caller gives up; may be null.
  const std::atomic<bool>* cancelled = nullptr;
  // The front end it came through, for the metrics' protocol label.
  Protocol protocol = Protocol::kGrpc;
};

struct OutputTensor {
  std::string name;
  std::string datatype;  // KServe wire name
  std::vector<int64_t> shape;
  std::string data;  // row-major little-endian bytes; BYTES as 4-byte
                     // length-prefixed elements
};

struct InferResponse {
  std::string model_name;
  std::string model_version;
  std::string id;
  std::vector<OutputTensor> outputs;
};

// Receives the one answer to a request, on any thread.
using InferCallback = std::function<void(absl::StatusOr<InferResponse>)>;

}  // namespace inferd

#endif  // INFERD_MODEL_STORE_INFER_REQUEST_H_
