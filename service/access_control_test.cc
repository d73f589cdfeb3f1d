#include "service/access_control.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "proto/inference.pb.h"

namespace inferd {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(AccessPolicyTest, NoFlagsRestrictNothing) {
  absl::StatusOr<AccessPolicy> policy = AccessPolicy::Parse({});
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_TRUE(policy->empty());
  for (int i = 0; i < kProtocolGroupCount; ++i) {
    EXPECT_TRUE(
        policy->Check(static_cast<ProtocolGroup>(i), std::nullopt).ok());
  }
}

TEST(AccessPolicyTest, ParsesTritonsForm) {
  absl::StatusOr<AccessPolicy> policy = AccessPolicy::Parse(
      {"inference,model-repository:infer-key=s3cr:et=x", "health:Probe=ok"});
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_FALSE(policy->empty());
  const auto* inference = policy->restriction(ProtocolGroup::kInference);
  ASSERT_NE(inference, nullptr);
  EXPECT_EQ(inference->key, "infer-key");
  EXPECT_EQ(inference->value, "s3cr:et=x");  // only the first '=' splits
  const auto* repository = policy->restriction(ProtocolGroup::kModelRepository);
  ASSERT_NE(repository, nullptr);
  EXPECT_EQ(repository->key, "infer-key");
  const auto* health = policy->restriction(ProtocolGroup::kHealth);
  ASSERT_NE(health, nullptr);
  EXPECT_EQ(health->key, "probe");  // gRPC keys are lowercase
  EXPECT_EQ(policy->restriction(ProtocolGroup::kMetadata), nullptr);
}

TEST(AccessPolicyTest, EveryTritonProtocolNameParses) {
  for (const char* name :
       {"health", "metadata", "inference", "shared-memory", "model-config",
        "model-repository", "statistics", "trace", "logging"}) {
    absl::StatusOr<AccessPolicy> policy =
        AccessPolicy::Parse({std::string(name) + ":k=v"});
    ASSERT_TRUE(policy.ok()) << name << ": " << policy.status();
    int restricted = 0;
    for (int i = 0; i < kProtocolGroupCount; ++i) {
      auto group = static_cast<ProtocolGroup>(i);
      if (policy->restriction(group) != nullptr) {
        ++restricted;
        EXPECT_EQ(ProtocolGroupName(group), name);
      }
    }
    EXPECT_EQ(restricted, 1) << name;
  }
}

void ExpectRefused(const std::string& spec, const std::string& why) {
  absl::StatusOr<AccessPolicy> policy = AccessPolicy::Parse({spec});
  ASSERT_FALSE(policy.ok()) << spec;
  EXPECT_EQ(policy.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(policy.status().message(),
              AllOf(HasSubstr("--grpc-restricted-protocol"), HasSubstr(why)))
      << spec;
  // The secret is never repeated in a message that may reach a log.
  EXPECT_THAT(policy.status().message(), Not(HasSubstr("SECRET"))) << spec;
}

TEST(AccessPolicyTest, RefusesMalformedSpecs) {
  ExpectRefused("inference", "no ':'");
  ExpectRefused("inference=SECRET", "no ':'");
  ExpectRefused("inference:=SECRET", "missing header key");
  ExpectRefused("inference:key", "missing value for header \"key\"");
  ExpectRefused("inference:key=", "missing value for header \"key\"");
  ExpectRefused(":key=SECRET", "no protocol");
  ExpectRefused("inferencing:key=SECRET", "unknown protocol \"inferencing\"");
  ExpectRefused("health,,inference:key=SECRET", "unknown protocol \"\"");
  ExpectRefused("inference:my key=SECRET", "may only hold");
  ExpectRefused("inference:grpc-timeout=SECRET", "reserved");
  ExpectRefused("inference:token-bin=SECRET", "binary");
  ExpectRefused("inference:key=SECRET\n", "printable ASCII");
}

TEST(AccessPolicyTest, RefusesAProtocolRestrictedTwice) {
  absl::StatusOr<AccessPolicy> policy =
      AccessPolicy::Parse({"inference:a=1", "health,inference:b=2"});
  ASSERT_FALSE(policy.ok());
  EXPECT_THAT(policy.status().message(),
              HasSubstr("protocol \"inference\" is restricted more than once"));
  EXPECT_FALSE(AccessPolicy::Parse({"health,health:a=1"}).ok());
}

TEST(AccessPolicyTest, CheckNeedsTheExactValue) {
  absl::StatusOr<AccessPolicy> policy =
      AccessPolicy::Parse({"inference:infer-key=SECRET"});
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_TRUE(policy->Check(ProtocolGroup::kInference, "SECRET").ok());
  EXPECT_TRUE(policy->Check(ProtocolGroup::kHealth, std::nullopt).ok());
  for (std::optional<absl::string_view> wrong :
       {std::optional<absl::string_view>(),
        std::optional<absl::string_view>(""),
        std::optional<absl::string_view>("SECRE"),
        std::optional<absl::string_view>("SECRETS"),
        std::optional<absl::string_view>("secret")}) {
    absl::Status status = policy->Check(ProtocolGroup::kInference, wrong);
    EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied);
    EXPECT_EQ(status.message(),
              "This protocol is restricted, expecting header 'infer-key'");
  }
}

TEST(AccessPolicyTest, RefusalsAreCountedByProtocolAndGroup) {
  absl::StatusOr<AccessPolicy> policy =
      AccessPolicy::Parse({"inference,statistics:k=v"});
  ASSERT_TRUE(policy.ok()) << policy.status();
  metrics::ServerMetrics metrics;
  policy->CountRefusalsIn(&metrics, Protocol::kHttp);
  EXPECT_FALSE(policy->Check(ProtocolGroup::kInference, "x").ok());
  EXPECT_FALSE(policy->Check(ProtocolGroup::kInference, std::nullopt).ok());
  EXPECT_FALSE(policy->Check(ProtocolGroup::kStatistics, "").ok());
  EXPECT_TRUE(policy->Check(ProtocolGroup::kInference, "v").ok());
  EXPECT_TRUE(policy->Check(ProtocolGroup::kHealth, std::nullopt).ok());
  const std::string text = metrics::Exposition(metrics);
  EXPECT_THAT(text, ::testing::HasSubstr(
                        "inferd_access_refusals_total{group=\"inference\","
                        "protocol=\"http\"} 2"));
  EXPECT_THAT(text, ::testing::HasSubstr(
                        "inferd_access_refusals_total{group=\"statistics\","
                        "protocol=\"http\"} 1"));
  EXPECT_THAT(text, ::testing::Not(::testing::HasSubstr("group=\"health\"")));
}

TEST(ConstantTimeEqualsTest, ComparesWholeStrings) {
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("ab", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abcd", "abc"));
  EXPECT_FALSE(ConstantTimeEquals(std::string("abc\0", 4), "abc"));
  EXPECT_FALSE(ConstantTimeEquals("", "a"));
}

TEST(GroupOfMethodTest, EveryInferenceRpcHasAGroup) {
  const google::protobuf::ServiceDescriptor* service =
      inference::ModelInferRequest::descriptor()->file()->FindServiceByName(
          "GRPCInferenceService");
  ASSERT_NE(service, nullptr);
  for (int i = 0; i < service->method_count(); ++i) {
    const std::string method =
        "/inference.GRPCInferenceService/" + service->method(i)->name();
    EXPECT_TRUE(GroupOfMethod(method).has_value()) << method;
  }
}

TEST(GroupOfMethodTest, TritonsGrouping) {
  auto group = [](const std::string& rpc) {
    return GroupOfMethod("/inference.GRPCInferenceService/" + rpc);
  };
  EXPECT_EQ(group("ServerLive"), ProtocolGroup::kHealth);
  EXPECT_EQ(group("ServerReady"), ProtocolGroup::kHealth);
  EXPECT_EQ(group("ModelReady"), ProtocolGroup::kHealth);
  EXPECT_EQ(group("ServerMetadata"), ProtocolGroup::kMetadata);
  EXPECT_EQ(group("ModelMetadata"), ProtocolGroup::kMetadata);
  EXPECT_EQ(group("ModelInfer"), ProtocolGroup::kInference);
  EXPECT_EQ(group("ModelStreamInfer"), ProtocolGroup::kInference);
  EXPECT_EQ(group("ModelConfig"), ProtocolGroup::kModelConfig);
  EXPECT_EQ(group("ModelStatistics"), ProtocolGroup::kStatistics);
  EXPECT_EQ(group("RepositoryIndex"), ProtocolGroup::kModelRepository);
  EXPECT_EQ(group("RepositoryModelLoad"), ProtocolGroup::kModelRepository);
  EXPECT_EQ(group("RepositoryModelUnload"), ProtocolGroup::kModelRepository);
  EXPECT_EQ(group("SystemSharedMemoryRegister"), ProtocolGroup::kSharedMemory);
  EXPECT_EQ(group("CudaSharedMemoryStatus"), ProtocolGroup::kSharedMemory);
  EXPECT_EQ(group("TraceSetting"), ProtocolGroup::kTrace);
  EXPECT_EQ(group("LogSettings"), ProtocolGroup::kLogging);
  EXPECT_EQ(GroupOfMethod("/grpc.health.v1.Health/Check"),
            ProtocolGroup::kHealth);
  EXPECT_EQ(GroupOfMethod("/grpc.health.v1.Health/Watch"),
            ProtocolGroup::kHealth);
  EXPECT_EQ(GroupOfMethod("/grpc.reflection.v1alpha.ServerReflection/"
                          "ServerReflectionInfo"),
            std::nullopt);
}

}  // namespace
}  // namespace inferd
