#include "model_store/version_record.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

namespace inferd {
namespace {

using ::testing::HasSubstr;

class Recorder : public VersionObserver {
 public:
  void OnVersionState(const std::string& model,
                      const VersionStatus& status) override {
    seen.push_back(status.state);
    EXPECT_EQ(model, "m");
  }
  std::vector<VersionState> seen;
};

// A record driven to `state` through legal moves.
std::unique_ptr<VersionRecord> RecordIn(VersionState state,
                                        VersionObserver* observer = nullptr) {
  auto record = std::make_unique<VersionRecord>("m", 3, observer);
  switch (state) {
    case VersionState::kLoading:
      break;
    case VersionState::kFailed:
      EXPECT_TRUE(record->MarkFailed("boom").ok());
      break;
    case VersionState::kUnloaded:
    case VersionState::kDraining:
    case VersionState::kReady:
      EXPECT_TRUE(record->MarkReady().ok());
      if (state == VersionState::kReady) break;
      EXPECT_TRUE(record->MarkDraining("unloaded").ok());
      if (state == VersionState::kDraining) break;
      EXPECT_TRUE(record->MarkUnloaded().ok());
      break;
  }
  EXPECT_EQ(record->status().state, state);
  return record;
}

const VersionState kAll[] = {VersionState::kLoading, VersionState::kReady,
                             VersionState::kDraining, VersionState::kUnloaded,
                             VersionState::kFailed};

TEST(VersionRecordTest, StartsLoading) {
  VersionRecord record("m", 3, nullptr);
  EXPECT_EQ(record.status().state, VersionState::kLoading);
  EXPECT_EQ(record.status().version, 3);
}

TEST(VersionRecordTest, LoadingBecomesReady) {
  auto record = RecordIn(VersionState::kLoading);
  EXPECT_TRUE(record->MarkReady().ok());
  EXPECT_EQ(record->status().state, VersionState::kReady);
  EXPECT_EQ(record->status().reason, "");
}

TEST(VersionRecordTest, LoadingBecomesFailedWithTheReason) {
  auto record = RecordIn(VersionState::kLoading);
  EXPECT_TRUE(record->MarkFailed("corrupt archive").ok());
  EXPECT_EQ(record->status().state, VersionState::kFailed);
  EXPECT_EQ(record->status().reason, "corrupt archive");
}

TEST(VersionRecordTest, ReadyDrainsThenUnloads) {
  auto record = RecordIn(VersionState::kReady);
  EXPECT_TRUE(record->MarkDraining("replaced by version 4").ok());
  EXPECT_EQ(record->status().state, VersionState::kDraining);
  EXPECT_EQ(record->status().reason, "replaced by version 4");
  EXPECT_TRUE(record->MarkUnloaded().ok());
  EXPECT_EQ(record->status().state, VersionState::kUnloaded);
  EXPECT_EQ(record->status().reason, "replaced by version 4");
}

TEST(VersionRecordTest, MarkReadyIsRefusedOutsideLoading) {
  for (VersionState from : kAll) {
    if (from == VersionState::kLoading) continue;
    auto record = RecordIn(from);
    absl::Status s = record->MarkReady();
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(s.message(), HasSubstr("to READY (only from LOADING)"));
    EXPECT_EQ(record->status().state, from);
  }
}

TEST(VersionRecordTest, MarkFailedIsRefusedOutsideLoading) {
  for (VersionState from : kAll) {
    if (from == VersionState::kLoading) continue;
    auto record = RecordIn(from);
    EXPECT_EQ(record->MarkFailed("x").code(),
              absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ(record->status().state, from);
  }
}

TEST(VersionRecordTest, MarkDrainingIsRefusedOutsideReady) {
  for (VersionState from : kAll) {
    if (from == VersionState::kReady) continue;
    auto record = RecordIn(from);
    absl::Status s = record->MarkDraining("x");
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(s.message(), HasSubstr("(only from READY)"));
    EXPECT_EQ(record->status().state, from);
  }
}

TEST(VersionRecordTest, MarkUnloadedIsRefusedOutsideDraining) {
  for (VersionState from : kAll) {
    if (from == VersionState::kDraining) continue;
    auto record = RecordIn(from);
    absl::Status s = record->MarkUnloaded();
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(s.message(), HasSubstr("(only from DRAINING)"));
    EXPECT_EQ(record->status().state, from);
  }
}

TEST(VersionRecordTest, ProblemsAreNotedOnlyWhileReady) {
  auto record = RecordIn(VersionState::kReady);
  EXPECT_TRUE(record->SetProblem("1/model.pt changed and failed").ok());
  EXPECT_EQ(record->status().state, VersionState::kReady);
  EXPECT_EQ(record->status().reason, "1/model.pt changed and failed");
  EXPECT_TRUE(record->SetProblem("").ok());
  EXPECT_EQ(record->status().reason, "");
  auto draining = RecordIn(VersionState::kDraining);
  EXPECT_EQ(draining->SetProblem("x").code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(VersionRecordTest, ObserverSeesEveryChangeOnce) {
  Recorder recorder;
  auto record = RecordIn(VersionState::kUnloaded, &recorder);
  EXPECT_EQ(recorder.seen, (std::vector<VersionState>{
                               VersionState::kReady, VersionState::kDraining,
                               VersionState::kUnloaded}));
  // A refused move notifies nobody.
  EXPECT_FALSE(record->MarkReady().ok());
  EXPECT_EQ(recorder.seen.size(), 3u);
}

TEST(VersionRecordTest, WireNamesAreTritons) {
  EXPECT_STREQ(VersionStateName(VersionState::kLoading), "LOADING");
  EXPECT_STREQ(VersionStateName(VersionState::kReady), "READY");
  EXPECT_STREQ(VersionStateName(VersionState::kDraining), "UNLOADING");
  EXPECT_STREQ(VersionStateName(VersionState::kUnloaded), "UNAVAILABLE");
  EXPECT_STREQ(VersionStateName(VersionState::kFailed), "UNAVAILABLE");
}

}  // namespace
}  // namespace inferd
