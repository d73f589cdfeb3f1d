#include "common/flags_util.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace inferd {
namespace {

using ::testing::ElementsAre;

// Runs NormalizeFlagNames on `args` as if they were main()'s argv.
std::vector<std::string> Normalize(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  return NormalizeFlagNames(static_cast<int>(args.size()), argv.data());
}

TEST(NormalizeFlagNamesTest, ReplacesDashesInNameButNotInValue) {
  EXPECT_THAT(Normalize({"inferd", "--model-repository=/a-b"}),
              ElementsAre("inferd", "--model_repository=/a-b"));
}

TEST(NormalizeFlagNamesTest, OnlyTheFirstEqualsSignEndsTheName) {
  EXPECT_THAT(Normalize({"inferd", "--log-prefix=a-b=c-d"}),
              ElementsAre("inferd", "--log_prefix=a-b=c-d"));
}

TEST(NormalizeFlagNamesTest, FlagWithoutEqualsAndSeparateValue) {
  EXPECT_THAT(Normalize({"inferd", "--grpc-port", "8001", "--strict-mode"}),
              ElementsAre("inferd", "--grpc_port", "8001", "--strict_mode"));
}

TEST(NormalizeFlagNamesTest, SingleDashFlag) {
  EXPECT_THAT(Normalize({"inferd", "-grpc-port=8001", "-allow-http"}),
              ElementsAre("inferd", "-grpc_port=8001", "-allow_http"));
}

TEST(NormalizeFlagNamesTest, LeavesArgumentsAfterDoubleDashAlone) {
  EXPECT_THAT(Normalize({"inferd", "--grpc-port=1", "--",
                         "--model-repository=/x-y", "-a-b"}),
              ElementsAre("inferd", "--grpc_port=1", "--",
                          "--model-repository=/x-y", "-a-b"));
}

TEST(NormalizeFlagNamesTest, LeavesProgramNameAlone) {
  EXPECT_THAT(Normalize({"--my-inferd", "--http-port=8000"}),
              ElementsAre("--my-inferd", "--http_port=8000"));
}

TEST(NormalizeFlagNamesTest, LeavesPositionalArgumentsAndShortFlagsAlone) {
  EXPECT_THAT(Normalize({"inferd", "some-file", "-v", "-", "--already_ok=1"}),
              ElementsAre("inferd", "some-file", "-v", "-", "--already_ok=1"));
}

TEST(NormalizeFlagNamesTest, ProgramNameOnly) {
  EXPECT_THAT(Normalize({"/usr/bin/inferd-server"}),
              ElementsAre("/usr/bin/inferd-server"));
}

}  // namespace
}  // namespace inferd
