#ifndef INFERD_SERVICE_HTTP_CODEC_H_
#define INFERD_SERVICE_HTTP_CODEC_H_

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"
#include "proto/inference.pb.h"

// The JSON of the KServe v2 REST protocol with Triton's binary tensor
// extension, translated to and from the gRPC messages that InferenceCore
// takes, so that both front ends share one validation and one queue. JSON
// is nlohmann::json (Debian's nlohmann-json3-dev).
namespace inferd::http_codec {

// JSON nested deeper is refused before it is parsed further (a deeply
// nested body must not exhaust the stack).
inline constexpr int kMaxJsonDepth = 64;

// One infer request as the HTTP front end holds it.
struct InferRequest {
  inference::ModelInferRequest request;  // every input as raw contents
  // Outputs answered as binary data: all of them (binary_data_output), or
  // those whose binary_data parameter is true; those with binary_data false
  // stay JSON either way.
  bool all_binary = false;
  absl::flat_hash_set<std::string> binary_outputs;
  absl::flat_hash_set<std::string> json_outputs;
};

struct Body {
  std::string bytes;
  // Set when binary data follows the JSON: its length, for the
  // Inference-Header-Content-Length header.
  std::optional<size_t> json_length;
};

// Decodes a request body into `out` (model name and version are the
// router's). `json_length` is the Inference-Header-Content-Length header
// (nullopt: the whole body is JSON); the bytes after the JSON are the binary
// inputs, in input order, each binary_data_size long. InvalidArgument
// naming the input, field or position for anything malformed.
absl::Status DecodeInferRequest(absl::string_view body,
                                std::optional<size_t> json_length,
                                InferRequest* out);

// The response body for `response` (outputs as raw contents), outputs as
// JSON data or binary as `wanted` asks.
Body EncodeInferResponse(const inference::ModelInferResponse& response,
                         const InferRequest& wanted);

// A client's request body for `request` (inputs as raw contents): inputs as
// JSON data, or with `binary` as binary data after the JSON, asking for
// binary outputs too. `json_length` is set in the binary form.
Body EncodeInferRequest(const inference::ModelInferRequest& request,
                        bool binary);

// Raw little-endian bytes of `type` as a flat JSON array (BYTES: strings).
nlohmann::json RawToJson(const std::string& raw, inference::DataType type);

// A protobuf message as JSON with the protocol's field names, integers as
// numbers (as Triton's HTTP API writes them, not protobuf's strings), enums
// by name, maps as objects, and scalar fields present even when zero.
nlohmann::json ToJson(const google::protobuf::Message& message);

// {"error": message}.
std::string ErrorBody(absl::string_view message);

// Triton's HTTP status for an error code.
int HttpStatus(absl::StatusCode code);

// Parses a JSON body (bounded depth); InvalidArgument with the parser's
// message and position.
absl::StatusOr<nlohmann::json> ParseJson(absl::string_view text);

}  // namespace inferd::http_codec

#endif  // INFERD_SERVICE_HTTP_CODEC_H_
