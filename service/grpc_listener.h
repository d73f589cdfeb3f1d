#ifndef INFERD_SERVICE_GRPC_LISTENER_H_
#define INFERD_SERVICE_GRPC_LISTENER_H_

#include <grpcpp/server_builder.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace inferd {

// The gRPC server's listening socket, owned by inferd instead of gRPC: it
// accepts connections itself and hands each to the server through gRPC's
// external connection acceptor (which runs the usual handshakes, TLS
// included). Owning it gives inferd what gRPC 1.51's own listener lacks:
//  - StopAccepting() closes the port while the server keeps serving the
//    connections it has: the step of the drain that sends new connections
//    to other replicas before the server's shutdown (which fails, with
//    CANCELLED, every call that reaches it after it began);
//  - it stops accepting while the process has fewer than
//    kReservedDescriptors files left under its limit (RLIMIT_NOFILE): new
//    connections wait in the kernel's queue, and what else needs a file
//    (HTTP, metrics, loading a model) still gets one. A full file table
//    (EMFILE, ENFILE) reached anyway is waited out, not fatal: gRPC's
//    listener stops accepting for good after one accept4() failure, while
//    the connections it has keep answering health checks.
// Thread-safe.
class GrpcListener {
 public:
  // Files kept free for the rest of the server.
  static constexpr int kReservedDescriptors = 256;

  // Binds and listens on host:port (port 0: a free one). Errors:
  // Unavailable naming the address and the system's reason.
  static absl::StatusOr<std::unique_ptr<GrpcListener>> Bind(
      const std::string& host, int port);
  ~GrpcListener();  // StopAccepting()

  int port() const { return port_; }

  // Starts handing accepted connections to `acceptor` on a thread of its
  // own. Call once, after the server has started (connections handed to a
  // server that has not started are closed by gRPC).
  void Start(
      std::unique_ptr<grpc::experimental::ExternalConnectionAcceptor> acceptor);

  // Closes the listening socket: connection attempts are refused from now
  // on; connections already handed over stay with the server, and so do
  // those waiting in the kernel's queue (accepted and handed over first,
  // where a reset would lose a request the client has sent). Blocks until
  // the accepting thread has ended. Idempotent.
  void StopAccepting();

  // How many times accept() found the file table full, or the files left
  // under the limit at the reserve (and waited).
  int64_t fd_exhaustions() const {
    return fd_exhaustions_.load(std::memory_order_relaxed);
  }

 private:
  GrpcListener(int fd, int wake_fd, int port)
      : fd_(fd), wake_fd_(wake_fd), port_(port) {}
  void AcceptLoop();
  // Hands an accepted connection to the server.
  void HandOver(int connection);

  int fd_;
  const int wake_fd_;  // eventfd that wakes the loop to stop
  const int port_;
  std::unique_ptr<grpc::experimental::ExternalConnectionAcceptor> acceptor_;
  std::atomic<int64_t> fd_exhaustions_{0};
  absl::Mutex stop_mu_;
  bool stopped_ ABSL_GUARDED_BY(stop_mu_) = false;
  std::thread thread_;
};

}  // namespace inferd

#endif  // INFERD_SERVICE_GRPC_LISTENER_H_
