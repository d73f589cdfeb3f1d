// CertificateReloader, HttpsCertificates and the PEM checks on certificates
// made at test time with the openssl CLI (without it the cases skip). The
// refresh thread runs on a SimulatedClock: the cases call Refresh() themselves,
// or advance the clock and wait for the thread's refresh count.

#include "service/certificate_reloader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/clock.h"
#include "service/https_certificates.h"
#include "service/tls_pem.h"

namespace inferd {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

// Writes `contents` beside `path`, then renames it over `path` (the way an
// operator replaces a certificate).
void Replace(const fs::path& path, const std::string& contents) {
  const fs::path temp = path.string() + ".new";
  std::ofstream(temp, std::ios::binary) << contents;
  fs::rename(temp, path);
}

class CertificateReloaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::system("openssl version >/dev/null 2>&1") != 0) {
      GTEST_SKIP() << "openssl CLI not found";
    }
    std::string pattern =
        (fs::path(::testing::TempDir()) / "inferd_reload_XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr) << pattern;
    dir_ = pattern;
    // Two servers, a and b, each with its own CA; an encrypted copy of a's
    // key.
    const std::string script = R"(set -e
key="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
for who in a b; do
  openssl req -x509 $key -days 1 -subj /CN=ca-$who -keyout ca_$who.key \
    -out ca_$who.crt
  openssl req $key -subj /CN=server-$who -keyout $who.key -out $who.csr
  openssl x509 -req -in $who.csr -CA ca_$who.crt -CAkey ca_$who.key \
    -CAcreateserial -days 1 -out $who.crt
done
openssl pkey -in a.key -aes256 -passout pass:secret -out a_encrypted.key
)";
    std::ofstream(dir_ / "make_certs.sh") << script;
    const std::string command = absl::StrCat(
        "cd '", dir_.string(), "' && sh make_certs.sh >openssl.log 2>&1");
    ASSERT_EQ(std::system(command.c_str()), 0)
        << ReadFile((dir_ / "openssl.log").string());
    // The served files start as a's.
    fs::copy_file(dir_ / "a.crt", dir_ / "server.crt");
    fs::copy_file(dir_ / "a.key", dir_ / "server.key");
    fs::copy_file(dir_ / "ca_a.crt", dir_ / "roots.crt");
  }

  void TearDown() override {
    std::error_code ignored;
    if (!dir_.empty()) fs::remove_all(dir_, ignored);
  }

  std::string Path(const std::string& name) const {
    return (dir_ / name).string();
  }
  std::string Pem(const std::string& name) const {
    return ReadFile(Path(name));
  }

  CertificateReloader::Options Options(bool with_root) {
    CertificateReloader::Options options;
    options.files.cert = {Path("server.crt"), "--cert"};
    options.files.key = {Path("server.key"), "--key"};
    if (with_root) options.files.root = {Path("roots.crt"), "--root"};
    options.refresh_interval = absl::Seconds(60);
    options.clock = &clock_;
    return options;
  }

  // What gRPC reads as key and chain for server `who`.
  std::string Identity(const std::string& who) const {
    return Pem(who + ".key") + Pem(who + ".crt");
  }

  fs::path dir_;
  SimulatedClock clock_;
};

TEST_F(CertificateReloaderTest, PublishesTheKeyAndChainAsOneFile) {
  absl::StatusOr<std::unique_ptr<CertificateReloader>> reloader =
      CertificateReloader::Create(Options(/*with_root=*/true));
  ASSERT_TRUE(reloader.ok()) << reloader.status();
  EXPECT_EQ(ReadFile((*reloader)->identity_path()), Identity("a"));
  EXPECT_EQ(ReadFile((*reloader)->root_path()), Pem("ca_a.crt"));
  // The published file is the operator's no more: it does not follow them.
  Replace(dir_ / "server.crt", Pem("b.crt"));
  EXPECT_EQ(ReadFile((*reloader)->identity_path()), Identity("a"));

  absl::StatusOr<std::unique_ptr<CertificateReloader>> no_root =
      CertificateReloader::Create(Options(/*with_root=*/false));
  EXPECT_FALSE(no_root.ok());  // b's certificate with a's key
  fs::copy_file(dir_ / "b.key", dir_ / "server.key",
                fs::copy_options::overwrite_existing);
  no_root = CertificateReloader::Create(Options(/*with_root=*/false));
  ASSERT_TRUE(no_root.ok()) << no_root.status();
  EXPECT_EQ((*no_root)->root_path(), "");
  EXPECT_EQ(ReadFile((*no_root)->identity_path()), Identity("b"));
}

TEST_F(CertificateReloaderTest, RefreshPublishesAChangedSetThatPasses) {
  absl::StatusOr<std::unique_ptr<CertificateReloader>> reloader =
      CertificateReloader::Create(Options(/*with_root=*/true));
  ASSERT_TRUE(reloader.ok()) << reloader.status();
  // Unchanged files: nothing is published again.
  struct stat before {};
  ASSERT_EQ(stat((*reloader)->identity_path().c_str(), &before), 0);
  EXPECT_TRUE((*reloader)->Refresh().ok());
  struct stat same {};
  ASSERT_EQ(stat((*reloader)->identity_path().c_str(), &same), 0);
  EXPECT_EQ(same.st_ino, before.st_ino);

  // The certificate renamed into place before its key: the half-changed
  // set is refused, a's stays.
  Replace(dir_ / "server.crt", Pem("b.crt"));
  absl::Status half = (*reloader)->Refresh();
  EXPECT_EQ(half.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(half.message(),
              HasSubstr("--key=" + Path("server.key") +
                        ": the private key is not the key of the chain's "
                        "first certificate"));
  EXPECT_EQ(ReadFile((*reloader)->identity_path()), Identity("a"));

  Replace(dir_ / "server.key", Pem("b.key"));
  Replace(dir_ / "roots.crt", Pem("ca_b.crt"));
  EXPECT_TRUE((*reloader)->Refresh().ok());
  EXPECT_EQ(ReadFile((*reloader)->identity_path()), Identity("b"));
  EXPECT_EQ(ReadFile((*reloader)->root_path()), Pem("ca_b.crt"));
  struct stat after {};
  ASSERT_EQ(stat((*reloader)->identity_path().c_str(), &after), 0);
  EXPECT_NE(after.st_ino, before.st_ino);
  // Later than the last set's, which gRPC's torn-read check relies on.
  EXPECT_GT(after.st_mtime, before.st_mtime);
  EXPECT_EQ((*reloader)->refreshes(), 3);
}

TEST_F(CertificateReloaderTest, RefreshKeepsTheLastGoodSetWhenAFileIsBad) {
  absl::StatusOr<std::unique_ptr<CertificateReloader>> reloader =
      CertificateReloader::Create(Options(/*with_root=*/true));
  ASSERT_TRUE(reloader.ok()) << reloader.status();
  const std::string good_cert = Pem("a.crt");
  const std::string good_key = Pem("a.key");
  const std::string good_root = Pem("ca_a.crt");

  struct Case {
    std::string file;
    std::string contents;
    std::string expected;  // in the message, after "<label>=<path>: "
  };
  const std::string garbled =
      "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END "
      "CERTIFICATE-----\n";
  const Case cases[] = {
      {"server.crt", "", "not a PEM file"},
      {"server.crt", garbled, "certificate 1 does not parse"},
      {"server.crt", good_cert + garbled, "certificate 2 does not parse"},
      {"server.crt", good_key, "no certificate"},
      {"server.key", good_cert, "no private key that parses"},
      {"server.key", Pem("a_encrypted.key"), "the private key is encrypted"},
      {"server.key", Pem("b.key"),
       "the private key is not the key of the chain's first"},
      {"roots.crt", garbled, "certificate 1 does not parse"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.file + " holding: " + c.expected);
    Replace(dir_ / c.file, c.contents);
    const absl::Status status = (*reloader)->Refresh();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    const std::string label = c.file == "server.crt"   ? "--cert"
                              : c.file == "server.key" ? "--key"
                                                       : "--root";
    EXPECT_THAT(status.message(),
                HasSubstr(label + "=" + Path(c.file) + ": " + c.expected));
    EXPECT_EQ(ReadFile((*reloader)->identity_path()), Identity("a"));
    EXPECT_EQ(ReadFile((*reloader)->root_path()), good_root);
    Replace(dir_ / "server.crt", good_cert);
    Replace(dir_ / "server.key", good_key);
    Replace(dir_ / "roots.crt", good_root);
  }
  fs::remove(dir_ / "server.key");
  EXPECT_THAT((*reloader)->Refresh().message(),
              HasSubstr("--key=" + Path("server.key") + ": cannot read"));
  EXPECT_EQ(ReadFile((*reloader)->identity_path()), Identity("a"));
}

TEST_F(CertificateReloaderTest, CreateRefusesBadFilesNamingThem) {
  CertificateReloader::Options options = Options(/*with_root=*/true);
  options.files.key.path = Path("a_encrypted.key");
  absl::StatusOr<std::unique_ptr<CertificateReloader>> reloader =
      CertificateReloader::Create(options);
  EXPECT_EQ(reloader.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(reloader.status().message(),
              HasSubstr("--key=" + Path("a_encrypted.key") +
                        ": the private key is encrypted"));

  options = Options(/*with_root=*/true);
  options.files.root.path = Path("missing.crt");
  reloader = CertificateReloader::Create(options);
  EXPECT_THAT(reloader.status().message(),
              HasSubstr("--root=" + Path("missing.crt") + ": cannot read"));

  options = Options(/*with_root=*/false);
  options.refresh_interval = absl::ZeroDuration();
  reloader = CertificateReloader::Create(options);
  EXPECT_THAT(reloader.status().message(), HasSubstr("must be positive"));
}

TEST_F(CertificateReloaderTest, RefreshThreadLooksEveryInterval) {
  absl::StatusOr<std::unique_ptr<CertificateReloader>> reloader =
      CertificateReloader::Create(Options(/*with_root=*/false));
  ASSERT_TRUE(reloader.ok()) << reloader.status();
  Replace(dir_ / "server.crt", Pem("b.crt"));
  Replace(dir_ / "server.key", Pem("b.key"));
  // Once the thread waits on the clock, a whole interval makes it look.
  clock_.BlockUntilWaiters(1);
  EXPECT_EQ((*reloader)->refreshes(), 0);
  clock_.Advance(absl::Seconds(60));
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while ((*reloader)->refreshes() == 0 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  EXPECT_EQ((*reloader)->refreshes(), 1);
  EXPECT_EQ(ReadFile((*reloader)->identity_path()), Identity("b"));
}

HttpsCertificates::Options HttpsOptions(
    const CertificateReloader::Options& tls) {
  HttpsCertificates::Options options;
  options.files = tls.files;
  options.refresh_interval = tls.refresh_interval;
  options.clock = tls.clock;
  return options;
}

// The HTTPS identity follows the files through the same checks as gRPC's:
// a half-replaced or garbled set is refused and the last good pair stays.
TEST_F(CertificateReloaderTest, HttpsIdentityTakesOnlyAGoodSet) {
  absl::StatusOr<std::unique_ptr<HttpsCertificates>> https =
      HttpsCertificates::Create(HttpsOptions(Options(/*with_root=*/false)));
  ASSERT_TRUE(https.ok()) << https.status();
  TlsFileWatcher* watcher = (*https)->watcher();
  ASSERT_NE(watcher, nullptr);
  const http::TlsIdentity& identity = *(*https)->identity();
  EXPECT_EQ(identity.cert_pem(), Pem("a.crt"));

  Replace(dir_ / "server.crt", Pem("b.crt"));
  absl::Status half = watcher->Refresh();
  EXPECT_THAT(half.message(),
              HasSubstr("--key=" + Path("server.key") +
                        ": the private key is not the key of the chain's "
                        "first certificate"));
  EXPECT_EQ(identity.cert_pem(), Pem("a.crt"));

  Replace(dir_ / "server.key",
          "-----BEGIN PRIVATE KEY-----\nbm8=\n"
          "-----END PRIVATE KEY-----\n");
  EXPECT_EQ(watcher->Refresh().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(identity.cert_pem(), Pem("a.crt"));

  Replace(dir_ / "server.key", Pem("b.key"));
  EXPECT_TRUE(watcher->Refresh().ok());
  EXPECT_EQ(identity.cert_pem(), Pem("b.crt"));
  EXPECT_EQ(watcher->refreshes(), 3);

  // The thread refreshes on the clock.
  Replace(dir_ / "server.crt", Pem("a.crt"));
  Replace(dir_ / "server.key", Pem("a.key"));
  clock_.BlockUntilWaiters(1);
  clock_.Advance(absl::Seconds(60));
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (watcher->refreshes() < 4 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_EQ(identity.cert_pem(), Pem("a.crt"));
}

TEST_F(CertificateReloaderTest, HttpsCertificatesRefuseBadOptionsAndFiles) {
  CertificateReloader::Options tls = Options(/*with_root=*/false);
  tls.refresh_interval = absl::ZeroDuration();
  absl::StatusOr<std::unique_ptr<HttpsCertificates>> once =
      HttpsCertificates::Create(HttpsOptions(tls));
  ASSERT_TRUE(once.ok()) << once.status();
  EXPECT_EQ((*once)->watcher(), nullptr);

  tls.refresh_interval = absl::Seconds(-1);
  EXPECT_EQ(HttpsCertificates::Create(HttpsOptions(tls)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(HttpsCertificates::Create(HttpsOptions(Options(/*with_root=*/true)))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  Replace(dir_ / "server.key", Pem("b.key"));
  EXPECT_THAT(
      HttpsCertificates::Create(HttpsOptions(Options(/*with_root=*/false)))
          .status()
          .message(),
      HasSubstr("not the key of the chain's first certificate"));
}

}  // namespace
}  // namespace inferd
