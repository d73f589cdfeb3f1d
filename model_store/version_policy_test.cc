#include "model_store/version_policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "google/protobuf/text_format.h"

namespace inferd {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

inference::ModelVersionPolicy Policy(const std::string& text) {
  inference::ModelVersionPolicy policy;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &policy));
  return policy;
}

TEST(SelectVersionsTest, DefaultIsTheLatestOne) {
  EXPECT_THAT(SelectVersions(Policy(""), {1, 2, 7}), ElementsAre(7));
}

TEST(SelectVersionsTest, LatestTakesTheHighestN) {
  EXPECT_THAT(SelectVersions(Policy("latest { num_versions: 2 }"), {1, 2, 7}),
              ElementsAre(2, 7));
  EXPECT_THAT(SelectVersions(Policy("latest { num_versions: 5 }"), {3, 4}),
              ElementsAre(3, 4));
  EXPECT_THAT(SelectVersions(Policy("latest { num_versions: 0 }"), {3, 4}),
              ElementsAre(4));
}

TEST(SelectVersionsTest, AllTakesEveryVersion) {
  EXPECT_THAT(SelectVersions(Policy("all {}"), {1, 2, 7}),
              ElementsAre(1, 2, 7));
}

TEST(SelectVersionsTest, SpecificTakesOnlyListedVersionsThatExist) {
  EXPECT_THAT(
      SelectVersions(Policy("specific { versions: [2, 9] }"), {1, 2, 7}),
      ElementsAre(2));
  EXPECT_THAT(SelectVersions(Policy("specific { versions: [9] }"), {1, 2}),
              IsEmpty());
}

TEST(SelectVersionsTest, NothingAvailableSelectsNothing) {
  EXPECT_THAT(SelectVersions(Policy(""), {}), IsEmpty());
  EXPECT_THAT(SelectVersions(Policy("all {}"), {}), IsEmpty());
}

}  // namespace
}  // namespace inferd
