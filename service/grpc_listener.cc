#include "service/grpc_listener.h"

#include <dirent.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/logging.h"

namespace inferd {
namespace {

// How long accept() rests after finding the file table full: the pending
// connection stays in the kernel's queue meanwhile and is taken once a
// descriptor is free.
constexpr int kFullTableWaitMs = 100;

std::string ErrnoText(int error) { return std::strerror(error); }

// Files the process has open, or -1 when /proc cannot tell.
int OpenFiles() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  int count = 0;
  while (readdir(dir) != nullptr) ++count;
  closedir(dir);
  return count - 3;  // ".", ".." and the directory's own descriptor
}

// The most files to have open before accepting one more connection: the
// process's limit less the reserve; -1 when unlimited or unknown.
int AcceptCeiling() {
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) != 0 || files.rlim_cur == RLIM_INFINITY)
    return -1;
  const rlim_t reserve = GrpcListener::kReservedDescriptors;
  return files.rlim_cur > reserve ? static_cast<int>(files.rlim_cur - reserve)
                                  : 0;
}

}  // namespace

absl::StatusOr<std::unique_ptr<GrpcListener>> GrpcListener::Bind(
    const std::string& host, int port) {
  const std::string address = host.find(':') != std::string::npos
                                  ? absl::StrCat("[", host, "]:", port)
                                  : absl::StrCat(host, ":", port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = absl::StrCat(port);
  if (int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &found);
      rc != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", address, ": ", gai_strerror(rc)));
  }
  int fd = -1;
  int error = 0;
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                a->ai_protocol);
    if (fd < 0) {
      error = errno;
      continue;
    }
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, SOMAXCONN) == 0)
      break;
    error = errno;
    close(fd);
    fd = -1;
  }
  freeaddrinfo(found);
  if (fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", address, ": ", ErrnoText(error)));
  }
  sockaddr_storage bound{};
  socklen_t length = sizeof(bound);
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length);
  const int bound_port =
      bound.ss_family == AF_INET6
          ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
          : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  const int wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake < 0) {
    const int e = errno;
    close(fd);
    return absl::UnavailableError(absl::StrCat("cannot listen on ", address,
                                               ": eventfd: ", ErrnoText(e)));
  }
  return std::unique_ptr<GrpcListener>(new GrpcListener(fd, wake, bound_port));
}

GrpcListener::~GrpcListener() {
  StopAccepting();
  close(wake_fd_);
}

void GrpcListener::Start(
    std::unique_ptr<grpc::experimental::ExternalConnectionAcceptor> acceptor) {
  acceptor_ = std::move(acceptor);
  thread_ = std::thread([this] { AcceptLoop(); });
}

void GrpcListener::StopAccepting() {
  absl::MutexLock lock(&stop_mu_);
  if (stopped_) return;
  stopped_ = true;
  const uint64_t one = 1;
  if (write(wake_fd_, &one, sizeof(one)) < 0) {
    LogError("gRPC listener: cannot wake the accepting thread: ",
             ErrnoText(errno));
  }
  if (thread_.joinable()) thread_.join();
  // Connections the kernel completed but nobody accepted yet would be reset
  // by the close, after the client may have sent its request (nginx does not
  // retry a request it has sent: 1 call in 20 restart runs failed so). They
  // are served instead; only a handshake finishing between the last accept
  // and the close is still refused.
  if (acceptor_ != nullptr) {
    while (true) {
      const int connection =
          accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (connection < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        break;  // EAGAIN: none left (or no file for one: it is refused)
      }
      HandOver(connection);
    }
  }
  close(fd_);
  fd_ = -1;
}

void GrpcListener::HandOver(int connection) {
  const int one = 1;
  setsockopt(connection, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  grpc::experimental::ExternalConnectionAcceptor::NewConnectionParameters
      parameters;
  parameters.listener_fd = fd_;
  parameters.fd = connection;
  acceptor_->HandleNewConnection(&parameters);
}

void GrpcListener::AcceptLoop() {
  pollfd wake{wake_fd_, POLLIN, 0};
  // Waits `ms` unless told to stop; true when told to stop.
  const auto rest = [&wake](int ms) { return poll(&wake, 1, ms) > 0; };
  bool table_full = false;  // logged once per episode
  while (true) {
    pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      LogError("gRPC listener: poll failed: ", ErrnoText(errno),
               "; no new connections are accepted");
      return;
    }
    if (fds[1].revents != 0) return;
    while (true) {
      // Read per accept, so that a limit raised at run time counts.
      const int ceiling = AcceptCeiling();
      const int open_files = ceiling >= 0 ? OpenFiles() : -1;
      if (open_files >= 0 && open_files >= ceiling) {
        fd_exhaustions_.fetch_add(1, std::memory_order_relaxed);
        if (!table_full) {
          LogWarning("gRPC listener: ", open_files,
                     " files open, the limit less ", kReservedDescriptors,
                     " kept for the rest of the server; new connections "
                     "wait in the queue until connections close");
          table_full = true;
        }
        if (rest(kFullTableWaitMs)) return;
        break;
      }
      const int connection =
          accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (connection < 0) {
        const int error = errno;
        if (error == EINTR || error == ECONNABORTED) continue;
        if (error == EAGAIN || error == EWOULDBLOCK) break;
        if (error == EMFILE || error == ENFILE || error == ENOBUFS ||
            error == ENOMEM) {
          fd_exhaustions_.fetch_add(1, std::memory_order_relaxed);
          if (!table_full) {
            LogWarning("gRPC listener: cannot accept (", ErrnoText(error),
                       "); new connections wait in the queue until a "
                       "descriptor is free");
            table_full = true;
          }
        } else {
          LogError("gRPC listener: accept failed: ", ErrnoText(error));
        }
        if (rest(kFullTableWaitMs)) return;
        break;
      }
      if (table_full) {
        LogInfo("gRPC listener: accepting again");
        table_full = false;
      }
      HandOver(connection);
    }
  }
}

}  // namespace inferd
