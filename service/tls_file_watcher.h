#ifndef INFERD_SERVICE_TLS_FILE_WATCHER_H_
#define INFERD_SERVICE_TLS_FILE_WATCHER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "service/tls_pem.h"

namespace inferd {

// Re-reads a TLS server's PEM files on a timer and hands each changed set
// that passes ReadTlsFiles()' checks (certificates parse, the key parses
// and is the first certificate's, the root bundle parses) to a publish
// function: the TLS stack never sees a garbled file, or a key renamed into
// place before its certificate. A set that fails the checks, or that the
// publish function refuses, is logged (once while the failure stays the
// same) and the last good set stays published.
//
// What publishing means is the caller's: in-memory files for gRPC
// (CertificateReloader), a GnuTLS identity for HTTPS (https_certificates.h).
//
// Thread-safe. Owns a refresh thread, stopped and joined by the destructor.
class TlsFileWatcher {
 public:
  // Makes `pem` what the TLS server presents; a non-OK status (its message
  // says why) leaves what was presented before. Called on the refresh
  // thread or by Refresh(), one call at a time.
  using Publish = std::function<absl::Status(const TlsPem& pem)>;

  struct Options {
    // The files to watch; cert and key are required, root is optional.
    TlsFiles files;
    // Time between looks at the files. Must be positive.
    absl::Duration refresh_interval = absl::Seconds(60);
    // Time source of the refresh thread; RealClock() when null. Not owned.
    Clock* clock = nullptr;
  };

  // Starts the refresh thread. `published` is the set already published
  // (read with ReadTlsFiles()); later sets are compared with it.
  // InvalidArgument when the interval is not positive.
  static absl::StatusOr<std::unique_ptr<TlsFileWatcher>> Create(
      Options options, TlsPem published, Publish publish);

  ~TlsFileWatcher();

  TlsFileWatcher(const TlsFileWatcher&) = delete;
  TlsFileWatcher& operator=(const TlsFileWatcher&) = delete;

  // Reads the files now. Publishes them when they changed and pass the
  // checks; otherwise the published set stays and the status says why
  // (InvalidArgument naming the label and path, or the publish function's
  // status). The refresh thread calls this every interval. Logs each
  // publication, and each failure once (until a refresh succeeds or fails
  // differently). Blocks while another refresh runs.
  absl::Status Refresh();

  // Refreshes finished so far, by the thread or by Refresh().
  int64_t refreshes() const;

 private:
  TlsFileWatcher(Options options, TlsPem published, Publish publish);

  absl::Status RefreshLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(refresh_mu_);
  void RefreshLoop();

  const Options options_;
  const Publish publish_;
  Clock* const clock_;

  // Serializes refreshes (the thread's and callers').
  absl::Mutex refresh_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  TlsPem published_ ABSL_GUARDED_BY(refresh_mu_);
  // The latest refresh's failure, logged once; empty after a success.
  std::string last_error_ ABSL_GUARDED_BY(refresh_mu_);

  mutable absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  int64_t refreshes_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

}  // namespace inferd

#endif  // INFERD_SERVICE_TLS_FILE_WATCHER_H_
