#include "service/certificate_reloader.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"

namespace inferd {
namespace {

absl::Status ErrnoError(absl::string_view what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

// A sealed in-memory file holding `contents`, its modification time set to
// `mtime_sec`; the descriptor is close-on-exec.
absl::StatusOr<int> MakeMemoryFile(const char* name, absl::string_view contents,
                                   int64_t mtime_sec) {
  const int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return ErrnoError("memfd_create");
  size_t written = 0;
  while (written < contents.size()) {
    const ssize_t n =
        write(fd, contents.data() + written, contents.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      absl::Status error = ErrnoError("writing an in-memory TLS file");
      close(fd);
      return error;
    }
    written += static_cast<size_t>(n);
  }
  const timespec times[2] = {{mtime_sec, 0}, {mtime_sec, 0}};
  if (futimens(fd, times) != 0 ||
      fcntl(fd, F_ADD_SEALS,
            F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0) {
    absl::Status error = ErrnoError("sealing an in-memory TLS file");
    close(fd);
    return error;
  }
  return fd;
}

std::string FdPath(int fd) {
  return fd < 0 ? std::string() : absl::StrCat("/proc/self/fd/", fd);
}

// What gRPC reads as both its key and its certificate chain.
std::string IdentityPem(const TlsPem& pem) {
  std::string identity = pem.key;
  if (!identity.empty() && identity.back() != '\n') identity += '\n';
  return identity + pem.cert;
}

// Whether `path` reads back as `expected`: gRPC opens the in-memory files
// by their /proc path, which needs /proc mounted.
absl::Status CheckReadsBack(const std::string& path,
                            absl::string_view expected) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream contents;
  contents << in.rdbuf();
  if (!in || contents.str() != expected) {
    return absl::InternalError(
        absl::StrCat("cannot read back the in-memory TLS file ", path,
                     " (is /proc mounted?)"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<CertificateReloader>>
CertificateReloader::Create(Options options) {
  if (options.refresh_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the certificate refresh interval must be positive, got ",
                     absl::FormatDuration(options.refresh_interval)));
  }
  absl::StatusOr<TlsPem> pem = ReadTlsFiles(options.files);
  if (!pem.ok()) return pem.status();
  const int64_t mtime = absl::ToUnixSeconds(absl::Now());
  absl::StatusOr<int> identity_fd =
      MakeMemoryFile("inferd-tls-identity", IdentityPem(*pem), mtime);
  if (!identity_fd.ok()) return identity_fd.status();
  absl::StatusOr<int> root_fd = -1;
  if (!options.files.root.path.empty()) {
    root_fd = MakeMemoryFile("inferd-tls-root", pem->root, mtime);
    if (!root_fd.ok()) {
      close(*identity_fd);
      return root_fd.status();
    }
  }
  std::unique_ptr<CertificateReloader> reloader(
      new CertificateReloader(*identity_fd, *root_fd));
  if (absl::Status s =
          CheckReadsBack(reloader->identity_path(), IdentityPem(*pem));
      !s.ok()) {
    return s;
  }
  {
    absl::MutexLock lock(&reloader->mu_);
    reloader->published_mtime_ = mtime;
  }
  absl::StatusOr<std::unique_ptr<TlsFileWatcher>> watcher =
      TlsFileWatcher::Create(
          {std::move(options.files), options.refresh_interval, options.clock},
          *std::move(pem), [r = reloader.get()](const TlsPem& published) {
            return r->Publish(published);
          });
  if (!watcher.ok()) return watcher.status();
  reloader->watcher_ = *std::move(watcher);
  return reloader;
}

CertificateReloader::CertificateReloader(int identity_fd, int root_fd)
    : identity_fd_(identity_fd),
      root_fd_(root_fd),
      identity_path_(FdPath(identity_fd)),
      root_path_(FdPath(root_fd)) {}

CertificateReloader::~CertificateReloader() {
  watcher_.reset();
  close(identity_fd_);
  if (root_fd_ >= 0) close(root_fd_);
}

absl::Status CertificateReloader::Publish(const TlsPem& pem) {
  // gRPC reads the identity file twice (as key, then as chain) and retries
  // when its modification time (whole seconds) moved in between: each
  // generation gets a later time than the last, however close they come.
  absl::MutexLock lock(&mu_);
  const int64_t mtime =
      std::max(absl::ToUnixSeconds(absl::Now()), published_mtime_ + 1);
  absl::StatusOr<int> identity =
      MakeMemoryFile("inferd-tls-identity", IdentityPem(pem), mtime);
  if (!identity.ok()) return identity.status();
  absl::StatusOr<int> root = -1;
  if (root_fd_ >= 0) {
    root = MakeMemoryFile("inferd-tls-root", pem.root, mtime);
    if (!root.ok()) {
      close(*identity);
      return root.status();
    }
  }
  // dup3 swaps what the descriptor (and so /proc/self/fd/N) refers to in
  // one step: a reader opens either the old file or the new one.
  if (dup3(*identity, identity_fd_, O_CLOEXEC) < 0 ||
      (*root >= 0 && dup3(*root, root_fd_, O_CLOEXEC) < 0)) {
    absl::Status error = ErrnoError("publishing the TLS files (dup3)");
    close(*identity);
    if (*root >= 0) close(*root);
    return error;
  }
  close(*identity);
  if (*root >= 0) close(*root);
  published_mtime_ = mtime;
  return absl::OkStatus();
}

}  // namespace inferd
