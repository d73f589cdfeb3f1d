#ifndef INFERD_SERVICE_TLS_PEM_H_
#define INFERD_SERVICE_TLS_PEM_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace inferd {

// Reading and checking the PEM files of a TLS server before they reach
// gRPC's TLS stack, which would accept a bad file and then fail every
// handshake. The checks parse with OpenSSL, the library gRPC's TLS uses, so
// what passes here loads there. Everything here is thread-safe.

// Reads the PEM file that `label` (e.g. a flag, "--grpc-server-cert") names;
// InvalidArgument naming both when it is missing, unreadable or not PEM (no
// -----BEGIN line).
absl::StatusOr<std::string> ReadPem(const char* label, const std::string& path);

// A PEM file and what to call it in messages.
struct PemFile {
  std::string path;
  std::string label;  // e.g. "--grpc-server-cert"
};

// A TLS server's files: its certificate chain and private key, and
// optionally (empty path) the root bundle that client certificates must
// chain to.
struct TlsFiles {
  PemFile cert;
  PemFile key;
  PemFile root;
};

// The contents of TlsFiles, read together.
struct TlsPem {
  std::string cert;
  std::string key;
  std::string root;  // empty when TlsFiles::root.path is
  bool operator==(const TlsPem& other) const {
    return cert == other.cert && key == other.key && root == other.root;
  }
};

// Reads `files` and checks them: the chain holds one or more certificates
// that parse, the key is an unencrypted private key of the chain's first
// certificate, the root bundle holds certificates that parse.
// InvalidArgument naming the label and path of the file at fault.
absl::StatusOr<TlsPem> ReadTlsFiles(const TlsFiles& files);

// OK when `pem` holds one or more certificates and none of its CERTIFICATE
// blocks fails to parse (other blocks are skipped, as gRPC skips them);
// InvalidArgument saying which one failed otherwise.
absl::Status CheckCertificates(absl::string_view pem);

// OK when `pem` holds an unencrypted private key that parses;
// InvalidArgument otherwise.
absl::Status CheckPrivateKey(absl::string_view pem);

// OK when `key_pem`'s private key belongs to `chain_pem`'s first
// certificate; InvalidArgument when it does not or either fails to parse.
absl::Status CheckKeyMatchesCertificate(absl::string_view chain_pem,
                                        absl::string_view key_pem);

}  // namespace inferd

#endif  // INFERD_SERVICE_TLS_PEM_H_
