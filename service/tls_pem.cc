#include "service/tls_pem.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace inferd {
namespace {

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Free {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using Bio = std::unique_ptr<BIO, BioFree>;
using Certificate = std::unique_ptr<X509, X509Free>;
using PrivateKey = std::unique_ptr<EVP_PKEY, PkeyFree>;

Bio ReadOnlyBio(absl::string_view pem) {
  return Bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// The reason of the first error in OpenSSL's queue for this thread (the
// cause, as "header too long"; later ones only say which layer passed it
// up); clears the queue.
std::string TakeOpensslError() {
  const auto error = ERR_peek_error();
  const char* reason = ERR_reason_error_string(error);
  std::string text = reason != nullptr ? reason : "unknown error";
  ERR_clear_error();
  return text;
}

// Whether the latest error is the one PEM reading stops on at the end of
// the text ("no start line"): no more blocks, rather than a broken one.
bool AtEndOfPem() {
  const auto error = ERR_peek_last_error();
  return ERR_GET_LIB(error) == ERR_LIB_PEM &&
         ERR_GET_REASON(error) == PEM_R_NO_START_LINE;
}

// A passphrase callback that has none: an encrypted key fails to load
// instead of OpenSSL prompting on the terminal.
int NoPassphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*u*/) {
  return 0;
}

// Reads every CERTIFICATE block of `pem`; the first is returned through
// `first` when not null.
absl::Status ReadCertificates(absl::string_view pem, Certificate* first) {
  ERR_clear_error();
  Bio bio = ReadOnlyBio(pem);
  if (bio == nullptr) return absl::ResourceExhaustedError("out of memory");
  int count = 0;
  while (true) {
    Certificate cert(
        PEM_read_bio_X509(bio.get(), nullptr, NoPassphrase, nullptr));
    if (cert == nullptr) break;
    if (count++ == 0 && first != nullptr) *first = std::move(cert);
  }
  if (!AtEndOfPem()) {
    return absl::InvalidArgumentError(absl::StrCat("certificate ", count + 1,
                                                   " does not parse (",
                                                   TakeOpensslError(), ")"));
  }
  ERR_clear_error();
  if (count == 0) {
    return absl::InvalidArgumentError(
        "no certificate (no -----BEGIN CERTIFICATE----- block)");
  }
  return absl::OkStatus();
}

absl::StatusOr<PrivateKey> ReadPrivateKey(absl::string_view pem) {
  ERR_clear_error();
  Bio bio = ReadOnlyBio(pem);
  if (bio == nullptr) return absl::ResourceExhaustedError("out of memory");
  PrivateKey key(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr));
  if (key != nullptr) return key;
  const std::string reason = TakeOpensslError();
  if (absl::StrContains(pem, "ENCRYPTED")) {
    return absl::InvalidArgumentError(
        "the private key is encrypted; an unencrypted key is needed");
  }
  return absl::InvalidArgumentError(
      absl::StrCat("no private key that parses (", reason, ")"));
}

absl::Status Named(const PemFile& file, const absl::Status& status) {
  return absl::Status(status.code(), absl::StrCat(file.label, "=", file.path,
                                                  ": ", status.message()));
}

}  // namespace

absl::StatusOr<std::string> ReadPem(const char* label,
                                    const std::string& path) {
  if (path.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(label, " is required"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(absl::StrCat(
        label, "=", path, ": cannot read (", std::strerror(errno), ")"));
  }
  std::ostringstream contents;
  contents << in.rdbuf();
  std::string pem = contents.str();
  if (pem.find("-----BEGIN ") == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        label, "=", path, ": not a PEM file (no -----BEGIN line)"));
  }
  return pem;
}

absl::Status CheckCertificates(absl::string_view pem) {
  return ReadCertificates(pem, nullptr);
}

absl::Status CheckPrivateKey(absl::string_view pem) {
  return ReadPrivateKey(pem).status();
}

absl::Status CheckKeyMatchesCertificate(absl::string_view chain_pem,
                                        absl::string_view key_pem) {
  Certificate leaf;
  if (absl::Status s = ReadCertificates(chain_pem, &leaf); !s.ok()) return s;
  absl::StatusOr<PrivateKey> key = ReadPrivateKey(key_pem);
  if (!key.ok()) return key.status();
  if (X509_check_private_key(leaf.get(), key->get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        "the private key is not the key of the chain's first certificate");
  }
  return absl::OkStatus();
}

absl::StatusOr<TlsPem> ReadTlsFiles(const TlsFiles& files) {
  TlsPem pem;
  absl::StatusOr<std::string> cert =
      ReadPem(files.cert.label.c_str(), files.cert.path);
  if (!cert.ok()) return cert.status();
  pem.cert = std::move(*cert);
  if (absl::Status s = CheckCertificates(pem.cert); !s.ok()) {
    return Named(files.cert, s);
  }
  absl::StatusOr<std::string> key =
      ReadPem(files.key.label.c_str(), files.key.path);
  if (!key.ok()) return key.status();
  pem.key = std::move(*key);
  if (absl::Status s = CheckPrivateKey(pem.key); !s.ok()) {
    return Named(files.key, s);
  }
  if (absl::Status s = CheckKeyMatchesCertificate(pem.cert, pem.key); !s.ok()) {
    return Named(
        files.key,
        absl::Status(s.code(), absl::StrCat(s.message(), " (", files.cert.label,
                                            "=", files.cert.path, ")")));
  }
  if (!files.root.path.empty()) {
    absl::StatusOr<std::string> root =
        ReadPem(files.root.label.c_str(), files.root.path);
    if (!root.ok()) return root.status();
    pem.root = std::move(*root);
    if (absl::Status s = CheckCertificates(pem.root); !s.ok()) {
      return Named(files.root, s);
    }
  }
  return pem;
}

}  // namespace inferd
