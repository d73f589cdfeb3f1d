#ifndef INFERD_SERVICE_HTTPS_CERTIFICATES_H_
#define INFERD_SERVICE_HTTPS_CERTIFICATES_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "http/tls_identity.h"
#include "service/tls_file_watcher.h"
#include "service/tls_pem.h"

namespace inferd {

// The certificate and key of an HTTPS server (the REST API's or the metrics
// endpoint's), read from the operator's files and, when a refresh interval
// is set, kept in step with them without a restart: TlsFileWatcher re-reads
// and checks the files as it does for gRPC, and each good set replaces what
// identity() presents to new handshakes. A bad set is logged once and the
// last good one stays.
//
// Thread-safe. identity() may outlive this object (it then stops changing).
class HttpsCertificates {
 public:
  struct Options {
    // The certificate chain and key; root must be empty (HTTPS here asks
    // for no client certificate).
    TlsFiles files;
    // Time between looks at the files; zero: read once, never reloaded.
    absl::Duration refresh_interval = absl::Seconds(60);
    // Time source of the refresh thread; RealClock() when null. Not owned.
    Clock* clock = nullptr;
  };

  // Reads and checks the files (ReadTlsFiles()) and loads them into GnuTLS,
  // then starts refreshing. InvalidArgument naming the label and path when
  // a file is missing, unreadable or does not pass the checks, or when the
  // interval is negative or a root bundle is named.
  static absl::StatusOr<std::unique_ptr<HttpsCertificates>> Create(
      Options options);

  // For http::ServerOptions::tls.
  const std::shared_ptr<http::TlsIdentity>& identity() const {
    return identity_;
  }

  // What re-reads the files; null when the interval is zero.
  TlsFileWatcher* watcher() const { return watcher_.get(); }

 private:
  HttpsCertificates(std::shared_ptr<http::TlsIdentity> identity,
                    std::unique_ptr<TlsFileWatcher> watcher)
      : identity_(std::move(identity)), watcher_(std::move(watcher)) {}

  const std::shared_ptr<http::TlsIdentity> identity_;
  const std::unique_ptr<TlsFileWatcher> watcher_;
};

}  // namespace inferd

#endif  // INFERD_SERVICE_HTTPS_CERTIFICATES_H_
