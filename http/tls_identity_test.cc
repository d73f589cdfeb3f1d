// TlsIdentity without a network: the GnuTLS objects a handshake would get,
// on certificates made at test time with the openssl CLI (without it the
// cases skip).

#include "http/tls_identity.h"

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"

namespace inferd::http {
namespace {

namespace fs = std::filesystem;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

// The subject's common name of the first certificate of `certs`.
std::string CommonName(gnutls_pcert_st* certs) {
  gnutls_x509_crt_t crt = nullptr;
  if (gnutls_pcert_export_x509(&certs[0], &crt) < 0) return "(no export)";
  char name[256];
  size_t size = sizeof(name);
  const int error = gnutls_x509_crt_get_dn_by_oid(
      crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, name, &size);
  gnutls_x509_crt_deinit(crt);
  return error < 0 ? "(no CN)" : std::string(name, size);
}

// What a handshake gets from `identity`: the CN and chain length; frees
// the objects as GnuTLS would at the session's end.
struct Retrieved {
  int error = 0;
  std::string common_name;
  unsigned int count = 0;
};

Retrieved Retrieve(const TlsIdentity& identity) {
  Retrieved result;
  gnutls_pcert_st* certs = nullptr;
  gnutls_privkey_t key = nullptr;
  result.error = identity.Retrieve(&certs, &result.count, &key);
  if (result.error < 0) return result;
  result.common_name = CommonName(certs);
  for (unsigned int i = 0; i < result.count; ++i) {
    gnutls_pcert_deinit(&certs[i]);
  }
  gnutls_free(certs);
  gnutls_privkey_deinit(key);
  return result;
}

class TlsIdentityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::system("openssl version >/dev/null 2>&1") != 0) {
      GTEST_SKIP() << "openssl CLI not found";
    }
    std::string pattern =
        (fs::path(::testing::TempDir()) / "inferd_identity_XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr) << pattern;
    dir_ = pattern;
    const std::string script = R"(set -e
key="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
openssl req -x509 $key -days 1 -subj /CN=ca -keyout ca.key -out ca.crt
for who in a b; do
  openssl req $key -subj /CN=server-$who -keyout $who.key -out $who.csr
  openssl x509 -req -in $who.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
    -days 1 -out $who.crt
  cat $who.crt ca.crt > $who.chain
done
)";
    std::ofstream(dir_ / "make.sh") << script;
    const std::string command =
        absl::StrCat("cd '", dir_.string(), "' && sh make.sh >log 2>&1");
    ASSERT_EQ(std::system(command.c_str()), 0) << ReadFile(dir_ / "log");
  }
  void TearDown() override {
    std::error_code ignored;
    if (!dir_.empty()) fs::remove_all(dir_, ignored);
  }

  std::string Pem(const std::string& file) const {
    return ReadFile(dir_ / file);
  }

  fs::path dir_;
};

TEST_F(TlsIdentityTest, HandshakesGetTheCurrentPairWithItsChain) {
  auto identity = TlsIdentity::Create(Pem("a.chain"), Pem("a.key"));
  ASSERT_TRUE(identity.ok()) << identity.status();
  Retrieved a = Retrieve(**identity);
  ASSERT_EQ(a.error, 0) << gnutls_strerror(a.error);
  EXPECT_EQ(a.common_name, "server-a");
  EXPECT_EQ(a.count, 2u);
  EXPECT_EQ((*identity)->cert_pem(), Pem("a.chain"));

  ASSERT_TRUE((*identity)->Set(Pem("b.crt"), Pem("b.key")).ok());
  Retrieved b = Retrieve(**identity);
  ASSERT_EQ(b.error, 0) << gnutls_strerror(b.error);
  EXPECT_EQ(b.common_name, "server-b");
  EXPECT_EQ(b.count, 1u);
}

// GnuTLS owns what a handshake got: replacing the pair leaves it intact.
TEST_F(TlsIdentityTest, ObjectsRetrievedBeforeASetStayValid) {
  auto identity = TlsIdentity::Create(Pem("a.crt"), Pem("a.key"));
  ASSERT_TRUE(identity.ok()) << identity.status();
  gnutls_pcert_st* certs = nullptr;
  unsigned int count = 0;
  gnutls_privkey_t key = nullptr;
  ASSERT_EQ((*identity)->Retrieve(&certs, &count, &key), 0);
  ASSERT_TRUE((*identity)->Set(Pem("b.crt"), Pem("b.key")).ok());
  identity->reset();
  EXPECT_EQ(CommonName(certs), "server-a");
  gnutls_pcert_deinit(&certs[0]);
  gnutls_free(certs);
  gnutls_privkey_deinit(key);
}

TEST_F(TlsIdentityTest, PairGnutlsCannotLoadIsRefusedAndTheOldOneStays) {
  auto identity = TlsIdentity::Create(Pem("a.crt"), Pem("a.key"));
  ASSERT_TRUE(identity.ok()) << identity.status();
  const std::string garbled =
      "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n"
      "-----END CERTIFICATE-----\n";
  EXPECT_EQ((*identity)->Set(garbled, Pem("b.key")).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*identity)->Set(Pem("b.crt"), "not a key").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*identity)->Set("", Pem("b.key")).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Retrieve(**identity).common_name, "server-a");
  EXPECT_EQ(TlsIdentity::Create(garbled, Pem("a.key")).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace inferd::http
