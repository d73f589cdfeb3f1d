// libFuzzer target: the REST protocol's request decoding. The first byte
// chooses whether the rest is all JSON or JSON followed by binary tensors
// (with Inference-Header-Content-Length taken from the next two bytes).
#include <cstddef>
#include <cstdint>
#include <optional>

#include "absl/strings/string_view.h"
#include "service/http_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  const bool binary = data[0] & 1;
  const size_t header = size_t{data[1]} << 8 | data[2];
  const absl::string_view body(reinterpret_cast<const char*>(data + 3),
                               size - 3);
  inferd::http_codec::InferRequest request;
  const std::optional<size_t> json_length =
      binary ? std::optional<size_t>(header) : std::nullopt;
  inferd::http_codec::DecodeInferRequest(body, json_length, &request)
      .IgnoreError();
  inferd::http_codec::ParseJson(body).status().IgnoreError();
  return 0;
}
