#include "service/https_certificates.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace inferd {

absl::StatusOr<std::unique_ptr<HttpsCertificates>> HttpsCertificates::Create(
    Options options) {
  if (options.refresh_interval < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the certificate refresh interval must be 0 (never) or positive, got ",
        absl::FormatDuration(options.refresh_interval)));
  }
  if (!options.files.root.path.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(options.files.root.label,
                     ": HTTPS takes no client certificate root bundle"));
  }
  absl::StatusOr<TlsPem> pem = ReadTlsFiles(options.files);
  if (!pem.ok()) return pem.status();
  const PemFile cert_file = options.files.cert;
  // What OpenSSL accepts GnuTLS almost always loads too; when it does not,
  // the message names the files.
  auto named = [cert_file,
                key_file = options.files.key](const absl::Status& s) {
    return absl::Status(
        s.code(),
        absl::StrCat(cert_file.label, "=", cert_file.path, ", ", key_file.label,
                     "=", key_file.path, ": ", s.message()));
  };
  absl::StatusOr<std::shared_ptr<http::TlsIdentity>> identity =
      http::TlsIdentity::Create(pem->cert, pem->key);
  if (!identity.ok()) return named(identity.status());
  std::unique_ptr<TlsFileWatcher> watcher;
  if (options.refresh_interval > absl::ZeroDuration()) {
    absl::StatusOr<std::unique_ptr<TlsFileWatcher>> started =
        TlsFileWatcher::Create(
            {std::move(options.files), options.refresh_interval, options.clock},
            *std::move(pem),
            // The watcher holds the identity: it may outlive this object.
            [identity = *identity, named](const TlsPem& published) {
              absl::Status s = identity->Set(published.cert, published.key);
              return s.ok() ? s : named(s);
            });
    if (!started.ok()) return started.status();
    watcher = *std::move(started);
  }
  return std::unique_ptr<HttpsCertificates>(
      new HttpsCertificates(*std::move(identity), std::move(watcher)));
}

}  // namespace inferd
