#include "model_store/version_plan.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace inferd {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// A version holding model.pt with `stamp`.
FileSet F(const std::string& stamp) { return {{"model.pt", stamp}}; }

VersionPlanInput Poll() {
  VersionPlanInput in;
  in.require_stable = true;
  return in;
}

TEST(VersionPlanTest, StartUpLoadsTheLatestVersionWithoutWaiting) {
  VersionPlanInput in;
  in.on_disk = {{1, F("a")}, {2, F("b")}};
  VersionPlan plan = PlanVersions(in);
  EXPECT_THAT(plan.load, ElementsAre(2));
  EXPECT_THAT(plan.keep, IsEmpty());
}

TEST(VersionPlanTest, NewVersionWaitsForTwoScansThatAgree) {
  VersionPlanInput in = Poll();
  in.serving = {{1, F("a")}};
  in.on_disk = {{1, F("a")}, {2, F("b-partial")}};
  in.previous = {{1, F("a")}};
  VersionPlan plan = PlanVersions(in);
  EXPECT_THAT(plan.load, IsEmpty());
  EXPECT_THAT(plan.keep, ElementsAre(1));
  in.previous = in.on_disk;
  in.on_disk[2] = F("b");  // still being copied: changed since
  EXPECT_THAT(PlanVersions(in).load, IsEmpty());
  in.previous = in.on_disk;
  plan = PlanVersions(in);
  EXPECT_THAT(plan.load, ElementsAre(2));
  EXPECT_THAT(plan.retire, ElementsAre(1));
}

TEST(VersionPlanTest, WithdrawnVersionRetiresAndThePreviousOneLoads) {
  VersionPlanInput in = Poll();
  in.serving = {{11, F("k")}};
  in.on_disk = {{10, F("j")}};  // 11's directory is gone
  in.previous = {{10, F("j")}, {11, F("k")}};
  VersionPlan plan = PlanVersions(in);
  EXPECT_THAT(plan.retire, ElementsAre(11));
  EXPECT_THAT(plan.load, ElementsAre(10));
}

TEST(VersionPlanTest, VersionBeingDeletedKeepsServingUntilItsDirectoryGoes) {
  // The race behind the failed swap test: rm -rf of version 11 is under
  // way; its files change (or are gone) while the directory stays. It must
  // neither be loaded again from what is left nor stop serving.
  VersionPlanInput in = Poll();
  in.policy.mutable_all();
  const FileSet full = {{"model.pt", "k"}, {"validation/y.bin", "v"}};
  const FileSet partly = {{"model.pt", "k"}};  // its validation data is gone
  in.serving = {{10, F("j")}, {11, full}};
  in.previous = {{10, F("j")}, {11, partly}};
  in.on_disk = {{10, F("j")}, {11, partly}};  // stable, and files removed
  VersionPlan plan = PlanVersions(in);
  EXPECT_THAT(plan.keep, ElementsAre(10, 11));
  EXPECT_THAT(plan.load, IsEmpty());
  EXPECT_THAT(plan.reload, IsEmpty());
  EXPECT_THAT(plan.retire, IsEmpty());
}

TEST(VersionPlanTest, ChangedFilesOfAServingVersionReloadOnceStable) {
  VersionPlanInput in = Poll();
  in.serving = {{1, F("a")}};
  in.previous = {{1, F("a")}};
  in.on_disk = {{1, F("a2")}};
  VersionPlan plan = PlanVersions(in);
  EXPECT_THAT(plan.keep, ElementsAre(1));  // changing: not yet
  in.previous = in.on_disk;
  plan = PlanVersions(in);
  EXPECT_THAT(plan.reload, ElementsAre(1));
  EXPECT_THAT(plan.retire, IsEmpty());
}

TEST(VersionPlanTest, FailedReloadKeepsTheServingCopy) {
  VersionPlanInput in = Poll();
  in.serving = {{1, F("a")}};
  in.previous = {{1, F("a2")}};
  in.on_disk = {{1, F("a2")}};
  in.excluded = {1};  // the reload just failed
  VersionPlan plan = PlanVersions(in);
  EXPECT_THAT(plan.keep, ElementsAre(1));
  EXPECT_THAT(plan.reload, IsEmpty());
  EXPECT_THAT(plan.retire, IsEmpty());
}

TEST(VersionPlanTest, FailingNewVersionMakesRoomForTheNextOne) {
  VersionPlanInput in;
  in.on_disk = {{1, F("a")}, {2, F("b")}};
  in.excluded = {2};
  EXPECT_THAT(PlanVersions(in).load, ElementsAre(1));
}

TEST(VersionPlanTest, KnownFailureIsNotRetriedByPollsUntilItsFilesChange) {
  VersionPlanInput in = Poll();
  in.serving = {{1, F("a")}};
  in.previous = {{1, F("a")}, {2, F("bad")}};
  in.on_disk = {{1, F("a")}, {2, F("bad")}};
  in.failed = {{2, F("bad")}};
  VersionPlan plan = PlanVersions(in);
  EXPECT_THAT(plan.load, IsEmpty());
  EXPECT_THAT(plan.keep, ElementsAre(1));
  in.retry_failed = true;  // an explicit load
  EXPECT_THAT(PlanVersions(in).load, ElementsAre(2));
  in.retry_failed = false;
  in.on_disk[2] = in.previous[2] = F("fixed");
  EXPECT_THAT(PlanVersions(in).load, ElementsAre(2));
}

TEST(VersionPlanTest, ConfigChangeReloadsEverySelectedVersion) {
  VersionPlanInput in = Poll();
  in.policy.mutable_all();
  in.serving = {{1, F("a")}, {2, F("b")}};
  in.previous = in.on_disk = {{1, F("a")}, {2, F("b")}};
  in.config_changed = true;
  EXPECT_THAT(PlanVersions(in).reload, ElementsAre(1, 2));
}

TEST(VersionPlanTest, PolicyNoLongerSelectingAVersionRetiresIt) {
  VersionPlanInput in;
  in.policy.mutable_specific()->add_versions(1);
  in.serving = {{2, F("b")}};
  in.on_disk = {{1, F("a")}, {2, F("b")}};
  VersionPlan plan = PlanVersions(in);
  EXPECT_THAT(plan.load, ElementsAre(1));
  EXPECT_THAT(plan.retire, ElementsAre(2));
}

}  // namespace
}  // namespace inferd
