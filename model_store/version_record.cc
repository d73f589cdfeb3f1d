#include "model_store/version_record.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace inferd {
namespace {

// Our own names, for messages about illegal moves.
const char* InternalName(VersionState state) {
  switch (state) {
    case VersionState::kLoading:
      return "LOADING";
    case VersionState::kReady:
      return "READY";
    case VersionState::kDraining:
      return "DRAINING";
    case VersionState::kUnloaded:
      return "UNLOADED";
    case VersionState::kFailed:
      return "FAILED";
  }
  return "?";
}

}  // namespace

const char* VersionStateName(VersionState state) {
  switch (state) {
    case VersionState::kLoading:
      return "LOADING";
    case VersionState::kReady:
      return "READY";
    case VersionState::kDraining:
      return "UNLOADING";
    case VersionState::kUnloaded:
    case VersionState::kFailed:
      return "UNAVAILABLE";
  }
  return "UNAVAILABLE";
}

VersionRecord::VersionRecord(std::string model, int64_t version,
                             VersionObserver* observer)
    : model_(std::move(model)), version_(version), observer_(observer) {}

absl::Status VersionRecord::MarkReady() {
  return Move(VersionState::kLoading, VersionState::kReady, "");
}

absl::Status VersionRecord::MarkFailed(std::string reason) {
  return Move(VersionState::kLoading, VersionState::kFailed, std::move(reason));
}

absl::Status VersionRecord::MarkDraining(std::string reason) {
  return Move(VersionState::kReady, VersionState::kDraining, std::move(reason));
}

absl::Status VersionRecord::MarkUnloaded() {
  std::string why;
  {
    absl::MutexLock lock(&mu_);
    why = reason_;
  }
  // Move() refuses it unless the state is still DRAINING, whose reason is
  // only ever set by MarkDraining.
  return Move(VersionState::kDraining, VersionState::kUnloaded, std::move(why));
}

absl::Status VersionRecord::Move(VersionState from, VersionState to,
                                 std::string reason) {
  VersionStatus changed;
  {
    absl::MutexLock lock(&mu_);
    if (state_ != from) {
      return absl::FailedPreconditionError(absl::StrCat(
          "model ", model_, " version ", version_, ": cannot go from ",
          InternalName(state_), " to ", InternalName(to), " (only from ",
          InternalName(from), ")"));
    }
    state_ = to;
    reason_ = std::move(reason);
    changed = {version_, state_, reason_};
  }
  if (observer_ != nullptr) observer_->OnVersionState(model_, changed);
  return absl::OkStatus();
}

absl::Status VersionRecord::SetProblem(std::string problem) {
  absl::MutexLock lock(&mu_);
  if (state_ != VersionState::kReady) {
    return absl::FailedPreconditionError(
        absl::StrCat("model ", model_, " version ", version_, " is ",
                     InternalName(state_), ", not READY"));
  }
  reason_ = std::move(problem);
  return absl::OkStatus();
}

VersionStatus VersionRecord::status() const {
  absl::MutexLock lock(&mu_);
  return {version_, state_, reason_};
}

}  // namespace inferd
