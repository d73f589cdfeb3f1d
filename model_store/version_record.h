#ifndef INFERD_MODEL_STORE_VERSION_RECORD_H_
#define INFERD_MODEL_STORE_VERSION_RECORD_H_

#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"

namespace inferd {

// Lifecycle of one load of one model version. Legal transitions:
//   LOADING  -> READY      loaded, warmed up, past its validation gate
//   LOADING  -> FAILED     the load, warm-up or gate failed (or the version
//                          was withdrawn while it loaded)
//   READY    -> DRAINING   retired: takes no new requests, finishes its own
//   DRAINING -> UNLOADED   its last request was answered and it was freed
// Loading a version again (a retry, a reload) starts a new record.
enum class VersionState { kLoading, kReady, kDraining, kUnloaded, kFailed };

// Triton's name for `state` on the wire: LOADING, READY, UNLOADING
// (draining), UNAVAILABLE (failed or unloaded).
const char* VersionStateName(VersionState state);

struct VersionStatus {
  int64_t version = 0;
  VersionState state = VersionState::kLoading;
  // Why it failed or went away, or, while READY, a problem with its files
  // that did not stop it serving (e.g. a reload that failed).
  std::string reason;
};

// Told of every state change of every record, after it happened, on the
// thread that made it, with no lock of the record held. Implementations must
// be thread-safe and must not block.
class VersionObserver {
 public:
  virtual ~VersionObserver() = default;
  virtual void OnVersionState(const std::string& model,
                              const VersionStatus& status) = 0;
};

// One load of one model version, from the start of its load to its unload:
// the one place its state is written. Every change goes through a transition
// method that refuses an illegal move. Thread-safe.
class VersionRecord {
 public:
  // A record starts in LOADING. `observer` (may be null) must outlive it.
  VersionRecord(std::string model, int64_t version, VersionObserver* observer);

  // LOADING -> READY. FailedPrecondition from any other state.
  absl::Status MarkReady();
  // LOADING -> FAILED with `reason`. FailedPrecondition otherwise.
  absl::Status MarkFailed(std::string reason);
  // READY -> DRAINING with `reason` ("unloaded", "replaced by ...").
  // FailedPrecondition otherwise.
  absl::Status MarkDraining(std::string reason);
  // DRAINING -> UNLOADED, keeping the reason it drained for (the index
  // still says why it went). FailedPrecondition otherwise.
  absl::Status MarkUnloaded();
  // While READY: records a problem that does not stop it serving (its files
  // changed and could not be loaded again); empty clears it. No state change
  // and no notification otherwise. FailedPrecondition when not READY.
  absl::Status SetProblem(std::string problem);

  const std::string& model() const { return model_; }
  int64_t version() const { return version_; }
  VersionStatus status() const;

 private:
  absl::Status Move(VersionState from, VersionState to, std::string reason);

  const std::string model_;
  const int64_t version_;
  VersionObserver* const observer_;

  mutable absl::Mutex mu_;
  VersionState state_ ABSL_GUARDED_BY(mu_) = VersionState::kLoading;
  std::string reason_ ABSL_GUARDED_BY(mu_);
};

}  // namespace inferd

#endif  // INFERD_MODEL_STORE_VERSION_RECORD_H_
