#ifndef INFERD_SERVICE_ACCESS_CONTROL_H_
#define INFERD_SERVICE_ACCESS_CONTROL_H_

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/protocol.h"
#include "metrics/metrics.h"

namespace inferd {

// Triton's protocol groups for --grpc-restricted-protocol: every RPC the
// server answers belongs to exactly one.
enum class ProtocolGroup {
  kHealth,
  kMetadata,
  kInference,
  kSharedMemory,
  kModelConfig,
  kModelRepository,
  kStatistics,
  kTrace,
  kLogging,
};
inline constexpr int kProtocolGroupCount = 9;

// Triton's name of `group`, e.g. "model-repository".
absl::string_view ProtocolGroupName(ProtocolGroup group);

// The group of a gRPC method given by its full name
// ("/inference.GRPCInferenceService/ModelInfer", "/grpc.health.v1.Health/
// Check"); nullopt for a method outside GRPCInferenceService and the health
// service (e.g. server reflection, which no group restricts).
std::optional<ProtocolGroup> GroupOfMethod(absl::string_view full_method);

// Which protocol groups need which header: the parsed
// --grpc-restricted-protocol flags. Immutable once built, so thread-safe.
class AccessPolicy {
 public:
  struct Restriction {
    std::string key;    // a lowercase gRPC metadata key
    std::string value;  // the value the key must carry
  };

  // No group restricted.
  AccessPolicy() = default;

  // Parses Triton's form "<protocol>[,<protocol>...]:<key>=<value>", once
  // per flag occurrence. InvalidArgument naming the problem for an unknown
  // protocol, a missing key or value, a key that is not a valid metadata key,
  // a value gRPC cannot carry in a header, or a protocol restricted twice.
  static absl::StatusOr<AccessPolicy> Parse(
      const std::vector<std::string>& specs);

  bool empty() const;

  // The restriction on `group`; null when it is open.
  const Restriction* restriction(ProtocolGroup group) const;

  // OK when `group` is open or `header_value` (the value the call carried
  // for the group's key; nullopt: none) equals the configured value, compared
  // in constant time. Else PERMISSION_DENIED naming the key, never the value,
  // counted in the metrics given to CountRefusalsIn().
  absl::Status Check(ProtocolGroup group,
                     std::optional<absl::string_view> header_value) const;

  // Refusals are counted in `metrics` (which must outlive every copy of the
  // policy; null: not counted) as calls of `protocol`.
  void CountRefusalsIn(metrics::ServerMetrics* metrics, Protocol protocol) {
    metrics_ = metrics;
    protocol_ = protocol;
  }

 private:
  std::array<std::optional<Restriction>, kProtocolGroupCount> restrictions_;
  metrics::ServerMetrics* metrics_ = nullptr;
  Protocol protocol_ = Protocol::kGrpc;
};

// Compares in time that depends only on the length of `expected`, so a
// client cannot find the value a byte at a time by timing refusals.
bool ConstantTimeEquals(absl::string_view given, absl::string_view expected);

}  // namespace inferd

#endif  // INFERD_SERVICE_ACCESS_CONTROL_H_
