#ifndef INFERD_SERVICE_CERTIFICATE_RELOADER_H_
#define INFERD_SERVICE_CERTIFICATE_RELOADER_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "service/tls_file_watcher.h"
#include "service/tls_pem.h"

namespace inferd {

// Keeps the TLS certificate, key and root bundle that gRPC serves in step
// with the PEM files the operator names, without a restart.
//
// gRPC's FileWatcherCertificateProvider re-reads files on a timer, but hands
// whatever it reads to the TLS stack: a garbled file, or a key renamed into
// place before its certificate, would fail every new handshake until the
// next good read. So gRPC does not read the operator's files. It reads
// in-memory copies (memfd files, opened as /proc/self/fd/N) that this class
// replaces, each in one step, only with a set that passes ReadTlsFiles()'
// checks (TlsFileWatcher re-reads and checks the files). A set that fails
// is logged and the last good one stays.
//
// The key and chain are published together in one file (the key first),
// which gRPC reads as both its key and its chain: it can never see a key
// from one set with a certificate from another.
//
// Thread-safe. Owns a refresh thread, stopped and joined by the destructor.
// Must outlive whatever reads identity_path() and root_path().
class CertificateReloader {
 public:
  struct Options {
    // The files to serve; cert and key are required, root is optional.
    TlsFiles files;
    // Time between looks at the files. Must be positive.
    absl::Duration refresh_interval = absl::Seconds(60);
    // Time source of the refresh thread; RealClock() when null. Not owned.
    Clock* clock = nullptr;
  };

  // Reads and checks the files and publishes them, then starts the refresh
  // thread. InvalidArgument naming the label and path when a file is
  // missing, unreadable, not PEM, or the set does not pass the checks;
  // Internal when the in-memory files cannot be made or read back by path.
  static absl::StatusOr<std::unique_ptr<CertificateReloader>> Create(
      Options options);

  ~CertificateReloader();

  CertificateReloader(const CertificateReloader&) = delete;
  CertificateReloader& operator=(const CertificateReloader&) = delete;

  // The published key followed by its chain (PEM), for gRPC's provider as
  // both its key path and its certificate path.
  const std::string& identity_path() const { return identity_path_; }
  // The published root bundle; empty when Options::files.root.path
  // was.
  const std::string& root_path() const { return root_path_; }

  // Reads the files now. Publishes them when they changed and pass the
  // checks; otherwise the published set stays and the status says why
  // (InvalidArgument naming the label and path). The refresh thread calls
  // this every interval. Logs each publication, and each failure once
  // (until a refresh succeeds or fails differently).
  absl::Status Refresh() { return watcher_->Refresh(); }

  // Refreshes finished so far, by the thread or by Refresh().
  int64_t refreshes() const { return watcher_->refreshes(); }

 private:
  CertificateReloader(int identity_fd, int root_fd);

  // Points the descriptors at new in-memory files holding `pem`.
  absl::Status Publish(const TlsPem& pem);

  // The descriptors gRPC reads through /proc/self/fd/N; Publish() points
  // them at new in-memory files (dup3). -1 for no root bundle.
  const int identity_fd_;
  const int root_fd_;
  const std::string identity_path_;
  const std::string root_path_;

  absl::Mutex mu_;
  // Modification time (Unix seconds) of the published files.
  int64_t published_mtime_ ABSL_GUARDED_BY(mu_) = 0;

  // Calls Publish(); destroyed (its thread joined) before the descriptors
  // close.
  std::unique_ptr<TlsFileWatcher> watcher_;
};

}  // namespace inferd

#endif  // INFERD_SERVICE_CERTIFICATE_RELOADER_H_
