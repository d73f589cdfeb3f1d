#include "service/access_control.h"

#include <cstddef>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace inferd {
namespace {

constexpr std::array<absl::string_view, kProtocolGroupCount> kGroupNames = {
    "health",        "metadata",     "inference",
    "shared-memory", "model-config", "model-repository",
    "statistics",    "trace",        "logging"};

struct MethodGroup {
  absl::string_view method;
  ProtocolGroup group;
};

// Every RPC of GRPCInferenceService (proto/inference.proto) and of
// grpc.health.v1.Health, with Triton's grouping. access_control_test checks
// that no RPC of the service is missing.
constexpr MethodGroup kMethodGroups[] = {
    {"/inference.GRPCInferenceService/ServerLive", ProtocolGroup::kHealth},
    {"/inference.GRPCInferenceService/ServerReady", ProtocolGroup::kHealth},
    {"/inference.GRPCInferenceService/ModelReady", ProtocolGroup::kHealth},
    {"/grpc.health.v1.Health/Check", ProtocolGroup::kHealth},
    {"/grpc.health.v1.Health/Watch", ProtocolGroup::kHealth},
    {"/inference.GRPCInferenceService/ServerMetadata",
     ProtocolGroup::kMetadata},
    {"/inference.GRPCInferenceService/ModelMetadata", ProtocolGroup::kMetadata},
    {"/inference.GRPCInferenceService/ModelInfer", ProtocolGroup::kInference},
    {"/inference.GRPCInferenceService/ModelStreamInfer",
     ProtocolGroup::kInference},
    {"/inference.GRPCInferenceService/ModelConfig",
     ProtocolGroup::kModelConfig},
    {"/inference.GRPCInferenceService/ModelStatistics",
     ProtocolGroup::kStatistics},
    {"/inference.GRPCInferenceService/RepositoryIndex",
     ProtocolGroup::kModelRepository},
    {"/inference.GRPCInferenceService/RepositoryModelLoad",
     ProtocolGroup::kModelRepository},
    {"/inference.GRPCInferenceService/RepositoryModelUnload",
     ProtocolGroup::kModelRepository},
    {"/inference.GRPCInferenceService/SystemSharedMemoryStatus",
     ProtocolGroup::kSharedMemory},
    {"/inference.GRPCInferenceService/SystemSharedMemoryRegister",
     ProtocolGroup::kSharedMemory},
    {"/inference.GRPCInferenceService/SystemSharedMemoryUnregister",
     ProtocolGroup::kSharedMemory},
    {"/inference.GRPCInferenceService/CudaSharedMemoryStatus",
     ProtocolGroup::kSharedMemory},
    {"/inference.GRPCInferenceService/CudaSharedMemoryRegister",
     ProtocolGroup::kSharedMemory},
    {"/inference.GRPCInferenceService/CudaSharedMemoryUnregister",
     ProtocolGroup::kSharedMemory},
    {"/inference.GRPCInferenceService/TraceSetting", ProtocolGroup::kTrace},
    {"/inference.GRPCInferenceService/LogSettings", ProtocolGroup::kLogging},
};

std::optional<ProtocolGroup> GroupByName(absl::string_view name) {
  for (int i = 0; i < kProtocolGroupCount; ++i) {
    if (kGroupNames[i] == name) return static_cast<ProtocolGroup>(i);
  }
  return std::nullopt;
}

// gRPC accepts lowercase letters, digits, '-', '_' and '.' in keys; "grpc-"
// keys are gRPC's own, and "-bin" keys carry base64 binary, which a string
// comparison against the flag's text would get wrong.
absl::Status ValidateKey(absl::string_view key, absl::string_view spec) {
  if (key.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--grpc-restricted-protocol: missing header key for \"",
                     spec, "\" (expected <protocol>:<key>=<value>)"));
  }
  for (char c : key) {
    if (!(absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '-' ||
          c == '_' || c == '.')) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--grpc-restricted-protocol: header key \"", key,
          "\" may only hold lowercase letters, digits, '-', '_' and '.'"));
    }
  }
  if (absl::StartsWith(key, "grpc-") || absl::EndsWith(key, "-bin")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--grpc-restricted-protocol: header key \"", key,
        "\" is reserved (grpc-*) or binary (*-bin); choose another"));
  }
  return absl::OkStatus();
}

// The value is a secret: messages never quote it.
absl::Status ValidateValue(absl::string_view value, absl::string_view key) {
  if (value.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--grpc-restricted-protocol: missing value for header \"",
                     key, "\" (expected <key>=<value>)"));
  }
  for (char c : value) {
    if (c < 0x20 || c > 0x7e) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--grpc-restricted-protocol: the value for header \"", key,
          "\" must be printable ASCII (gRPC headers carry nothing else)"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::string_view ProtocolGroupName(ProtocolGroup group) {
  return kGroupNames[static_cast<int>(group)];
}

std::optional<ProtocolGroup> GroupOfMethod(absl::string_view full_method) {
  for (const MethodGroup& entry : kMethodGroups) {
    if (entry.method == full_method) return entry.group;
  }
  return std::nullopt;
}

absl::StatusOr<AccessPolicy> AccessPolicy::Parse(
    const std::vector<std::string>& specs) {
  AccessPolicy policy;
  for (const std::string& spec : specs) {
    const size_t colon = spec.find(':');
    if (colon == std::string::npos) {
      // Not quoted: the text may hold the secret value.
      return absl::InvalidArgumentError(
          "--grpc-restricted-protocol: no ':' found; expected "
          "<protocol>[,<protocol>...]:<key>=<value>");
    }
    const absl::string_view protocols =
        absl::string_view(spec).substr(0, colon);
    const absl::string_view header = absl::string_view(spec).substr(colon + 1);
    const size_t equals = header.find('=');
    const std::string key(absl::AsciiStrToLower(header.substr(0, equals)));
    // Only the part before ':' is quoted from here on: the rest holds the
    // secret.
    if (absl::Status s = ValidateKey(key, protocols); !s.ok()) return s;
    if (equals == absl::string_view::npos) {
      return ValidateValue("", key);
    }
    const absl::string_view value = header.substr(equals + 1);
    if (absl::Status s = ValidateValue(value, key); !s.ok()) return s;
    if (protocols.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--grpc-restricted-protocol: no protocol before ':' "
          "for header \"",
          key, "\"; expected some of: ", absl::StrJoin(kGroupNames, ", ")));
    }
    for (absl::string_view name : absl::StrSplit(protocols, ',')) {
      name = absl::StripAsciiWhitespace(name);
      std::optional<ProtocolGroup> group = GroupByName(name);
      if (!group.has_value()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--grpc-restricted-protocol: unknown protocol \"", name,
            "\"; expected some of: ", absl::StrJoin(kGroupNames, ", ")));
      }
      std::optional<Restriction>& slot =
          policy.restrictions_[static_cast<int>(*group)];
      if (slot.has_value()) {
        return absl::InvalidArgumentError(
            absl::StrCat("--grpc-restricted-protocol: protocol \"", name,
                         "\" is restricted more than once"));
      }
      slot = Restriction{key, std::string(value)};
    }
  }
  return policy;
}

bool AccessPolicy::empty() const {
  for (const auto& restriction : restrictions_) {
    if (restriction.has_value()) return false;
  }
  return true;
}

const AccessPolicy::Restriction* AccessPolicy::restriction(
    ProtocolGroup group) const {
  const auto& slot = restrictions_[static_cast<int>(group)];
  return slot.has_value() ? &*slot : nullptr;
}

absl::Status AccessPolicy::Check(
    ProtocolGroup group, std::optional<absl::string_view> header_value) const {
  const Restriction* needed = restriction(group);
  if (needed == nullptr) return absl::OkStatus();
  if (header_value.has_value() &&
      ConstantTimeEquals(*header_value, needed->value)) {
    return absl::OkStatus();
  }
  if (metrics_ != nullptr) {
    metrics_->CountAccessRefusal(protocol_,
                                 std::string(ProtocolGroupName(group)));
  }
  // Triton's wording; the value is never echoed.
  return absl::PermissionDeniedError(absl::StrCat(
      "This protocol is restricted, expecting header '", needed->key, "'"));
}

bool ConstantTimeEquals(absl::string_view given, absl::string_view expected) {
  // Every byte of `expected` is visited whatever `given` holds; only its
  // length, which the client knows, changes the work done.
  unsigned char diff = given.size() == expected.size() ? 0 : 1;
  for (size_t i = 0; i < expected.size(); ++i) {
    const unsigned char g =
        i < given.size() ? static_cast<unsigned char>(given[i]) : 0;
    diff |= g ^ static_cast<unsigned char>(expected[i]);
  }
  return diff == 0;
}

}  // namespace inferd
