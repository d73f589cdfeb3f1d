#ifndef INFERD_HTTP_TLS_IDENTITY_H_
#define INFERD_HTTP_TLS_IDENTITY_H_

#include <gnutls/abstract.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace inferd::http {

// The certificate chain and private key an HTTPS server presents, which can
// be replaced while it serves: each TLS handshake takes the pair current
// when it starts; connections already open keep what they got.
//
// libmicrohttpd's TLS is GnuTLS. Each handshake gets GnuTLS objects of its
// own, made from the current pair and owned by GnuTLS's session (freed when
// the session ends; GNUTLS_CERT_RETR_DEINIT_ALL), so no handshake can see a
// pair freed or half replaced, however the replacement races it. The pair
// itself is held as immutable text behind a shared_ptr swapped under a lock.
//
// This class checks only that GnuTLS can load the pair; whether the key is
// the certificate's is for the caller to check (service/tls_pem.h).
//
// Thread-safe.
class TlsIdentity {
 public:
  // InvalidArgument when GnuTLS cannot load `cert_pem` (one or more PEM
  // certificates, the server's first) or `key_pem` (an unencrypted PEM
  // private key).
  static absl::StatusOr<std::shared_ptr<TlsIdentity>> Create(
      std::string cert_pem, std::string key_pem);

  TlsIdentity(const TlsIdentity&) = delete;
  TlsIdentity& operator=(const TlsIdentity&) = delete;

  // Presents `cert_pem` and `key_pem` to handshakes that start from now on.
  // InvalidArgument as Create(), and then the pair presented stays.
  absl::Status Set(std::string cert_pem, std::string key_pem);

  // The certificate chain presented now (PEM).
  std::string cert_pem() const;

  // For a GnuTLS certificate retrieve callback: new GnuTLS objects for the
  // current pair, allocated for GnuTLS to free (gnutls_malloc'ed array of
  // `*count` certificates, each to gnutls_pcert_deinit; the key to
  // gnutls_privkey_deinit). Returns 0, or a GnuTLS error code with nothing
  // left allocated.
  int Retrieve(gnutls_pcert_st** certs, unsigned int* count,
               gnutls_privkey_t* key) const;

 private:
  struct Pair {
    std::string cert_pem;
    std::string key_pem;
    unsigned int cert_count = 0;
  };

  explicit TlsIdentity(std::shared_ptr<const Pair> pair);

  // The pair, with its certificates counted; InvalidArgument when GnuTLS
  // cannot load it.
  static absl::StatusOr<std::shared_ptr<const Pair>> Load(std::string cert_pem,
                                                          std::string key_pem);
  std::shared_ptr<const Pair> Current() const;

  mutable absl::Mutex mu_;
  // Never null. Handshakes copy the pointer under mu_ and build from the
  // copy outside it.
  std::shared_ptr<const Pair> pair_ ABSL_GUARDED_BY(mu_);
};

}  // namespace inferd::http

#endif  // INFERD_HTTP_TLS_IDENTITY_H_
