#include "http/tls_identity.h"

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include <utility>

#include "absl/strings/str_cat.h"

namespace inferd::http {
namespace {

// More certificates than any real chain holds; a longer one is refused.
constexpr unsigned int kMaxChain = 16;

gnutls_datum_t Datum(const std::string& text) {
  return gnutls_datum_t{
      reinterpret_cast<unsigned char*>(const_cast<char*>(text.data())),
      static_cast<unsigned int>(text.size())};
}

// Imports up to `*count` certificates of `pem` into `certs`; `*count`
// becomes how many. On failure nothing is left to free.
int ImportChain(const std::string& pem, gnutls_pcert_st* certs,
                unsigned int* count) {
  const gnutls_datum_t data = Datum(pem);
  return gnutls_pcert_list_import_x509_raw(
      certs, count, &data, GNUTLS_X509_FMT_PEM,
      GNUTLS_X509_CRT_LIST_IMPORT_FAIL_IF_EXCEED);
}

int ImportKey(const std::string& pem, gnutls_privkey_t* key) {
  if (int error = gnutls_privkey_init(key); error < 0) return error;
  const gnutls_datum_t data = Datum(pem);
  const int error =
      gnutls_privkey_import_x509_raw(*key, &data, GNUTLS_X509_FMT_PEM,
                                     /*password=*/nullptr, /*flags=*/0);
  if (error < 0) {
    gnutls_privkey_deinit(*key);
    *key = nullptr;
  }
  return error;
}

}  // namespace

absl::StatusOr<std::shared_ptr<const TlsIdentity::Pair>> TlsIdentity::Load(
    std::string cert_pem, std::string key_pem) {
  gnutls_pcert_st certs[kMaxChain];
  unsigned int count = kMaxChain;
  if (int error = ImportChain(cert_pem, certs, &count); error < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("GnuTLS cannot load the certificate chain (",
                     gnutls_strerror(error), ")"));
  }
  for (unsigned int i = 0; i < count; ++i) gnutls_pcert_deinit(&certs[i]);
  if (count == 0) {
    return absl::InvalidArgumentError("no certificate in the chain");
  }
  gnutls_privkey_t key = nullptr;
  if (int error = ImportKey(key_pem, &key); error < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "GnuTLS cannot load the private key (", gnutls_strerror(error), ")"));
  }
  gnutls_privkey_deinit(key);
  auto pair = std::make_shared<Pair>();
  pair->cert_pem = std::move(cert_pem);
  pair->key_pem = std::move(key_pem);
  pair->cert_count = count;
  return std::shared_ptr<const Pair>(std::move(pair));
}

absl::StatusOr<std::shared_ptr<TlsIdentity>> TlsIdentity::Create(
    std::string cert_pem, std::string key_pem) {
  absl::StatusOr<std::shared_ptr<const Pair>> pair =
      Load(std::move(cert_pem), std::move(key_pem));
  if (!pair.ok()) return pair.status();
  return std::shared_ptr<TlsIdentity>(new TlsIdentity(*std::move(pair)));
}

TlsIdentity::TlsIdentity(std::shared_ptr<const Pair> pair)
    : pair_(std::move(pair)) {}

absl::Status TlsIdentity::Set(std::string cert_pem, std::string key_pem) {
  absl::StatusOr<std::shared_ptr<const Pair>> pair =
      Load(std::move(cert_pem), std::move(key_pem));
  if (!pair.ok()) return pair.status();
  // The old pair is freed outside the lock, when the last handshake that
  // copied it has built its objects.
  std::shared_ptr<const Pair> old = *std::move(pair);
  absl::MutexLock lock(&mu_);
  pair_.swap(old);
  return absl::OkStatus();
}

std::shared_ptr<const TlsIdentity::Pair> TlsIdentity::Current() const {
  absl::MutexLock lock(&mu_);
  return pair_;
}

std::string TlsIdentity::cert_pem() const { return Current()->cert_pem; }

int TlsIdentity::Retrieve(gnutls_pcert_st** certs, unsigned int* count,
                          gnutls_privkey_t* key) const {
  const std::shared_ptr<const Pair> pair = Current();
  auto* chain = static_cast<gnutls_pcert_st*>(
      gnutls_malloc(pair->cert_count * sizeof(gnutls_pcert_st)));
  if (chain == nullptr) return GNUTLS_E_MEMORY_ERROR;
  unsigned int imported = pair->cert_count;
  if (int error = ImportChain(pair->cert_pem, chain, &imported); error < 0) {
    gnutls_free(chain);
    return error;
  }
  gnutls_privkey_t private_key = nullptr;
  if (int error = ImportKey(pair->key_pem, &private_key); error < 0) {
    for (unsigned int i = 0; i < imported; ++i) gnutls_pcert_deinit(&chain[i]);
    gnutls_free(chain);
    return error;
  }
  *certs = chain;
  *count = imported;
  *key = private_key;
  return 0;
}

}  // namespace inferd::http
