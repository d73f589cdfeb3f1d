// libFuzzer target: config.pbtxt as a model repository holds it, and the
// JSON config RepositoryModelLoad takes: parsed and validated as at load
// time (the first byte chooses which).
#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "model_store/model_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const absl::string_view text(reinterpret_cast<const char*>(data + 1),
                               size - 1);
  if (data[0] & 1) {
    inferd::ParseModelConfigJson(text, "model").status().IgnoreError();
    return 0;
  }
  absl::StatusOr<inferd::ParsedConfig> parsed = inferd::ParseModelConfig(text);
  if (parsed.ok()) {
    inferd::ValidateModelConfig("model", &parsed->config).IgnoreError();
  }
  return 0;
}
