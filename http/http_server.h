#ifndef INFERD_HTTP_HTTP_SERVER_H_
#define INFERD_HTTP_HTTP_SERVER_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "http/tls_identity.h"

namespace inferd::http {

// One HTTP request, whole: inferd's handlers need the full body before they
// can decode it.
struct Request {
  std::string method;
  std::string path;  // without the query string, %-escapes decoded
  // Names lowercased.
  absl::flat_hash_map<std::string, std::string> headers;
  std::string body;
  // Set when the server stops before the handler has answered (Shutdown
  // past its grace): a handler that waits on something long should stop.
  const std::atomic<bool>* cancelled = nullptr;

  // The header's value, or null. `lowercase_name` must be lowercase.
  const std::string* Header(absl::string_view lowercase_name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// Where a Reply's answer goes: the server's connection, or another
// transport's adapter (bench/httplib_server.cc). A Reply calls Answer()
// exactly once, from any thread.
class ReplySink {
 public:
  virtual ~ReplySink() = default;
  virtual void Answer(Response response) = 0;
};

// Answers one request, once, from any thread. A Reply dropped without an
// answer answers 500, so a handler's bug never leaves a client waiting.
class Reply {
 public:
  explicit Reply(std::shared_ptr<ReplySink> sink);
  Reply(Reply&& other) noexcept = default;
  Reply& operator=(Reply&&) = delete;
  Reply(const Reply&) = delete;
  ~Reply();

  void operator()(Response response);

 private:
  std::shared_ptr<ReplySink> sink_;
};

// Called once per request on one of the server's threads. `request` stays
// valid until `reply` has been called. Handlers must not block: an answer
// that takes time (an inference) is sent later from another thread.
using Handler = std::function<void(const Request& request, Reply reply)>;

struct ServerOptions {
  // Shown in logs and errors: "HTTP", "metrics".
  std::string name = "HTTP";
  // Numeric IPv4 or IPv6 address to bind.
  std::string host = "127.0.0.1";
  // 0 picks a free port (see Server::port()).
  int port = 0;
  // Threads that read requests and write answers (each serves many
  // connections with epoll; a slow client holds none of them).
  int threads = 2;
  // Larger bodies are refused with 413 before they are read.
  size_t max_body_bytes = 64 << 20;
  // Open connections at most; further ones are refused at accept. Kept
  // below the process's file limit by Start().
  int connection_limit = 1000;
  // A connection idle (nothing received or sent) this long is closed;
  // bounds what unfinished requests hold.
  int idle_timeout_secs = 60;
  // Set: HTTPS only, each TLS handshake presenting the certificate and key
  // `tls` holds when it starts (TlsIdentity::Set() replaces them while the
  // server runs). Null: plain HTTP.
  std::shared_ptr<TlsIdentity> tls;
};

// An HTTP/1.1 server on GNU libmicrohttpd. Thread-safe. The destructor
// shuts down (see Shutdown()).
class Server {
 public:
  // Binds and starts serving. Unavailable when the address cannot be bound,
  // InvalidArgument for bad options.
  static absl::StatusOr<std::unique_ptr<Server>> Start(
      const ServerOptions& options, Handler handler);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // The bound port.
  int port() const { return port_; }

  // Stops accepting connections, waits up to `grace` for requests whose
  // handler has not answered yet, then marks them cancelled and waits for
  // their answers before closing every connection. Idempotent.
  void Shutdown(absl::Duration grace = absl::Seconds(5));

  // Requests dispatched to the handler and not answered yet.
  int in_flight() const;

  struct State;

 private:
  explicit Server(std::unique_ptr<State> state);

  std::unique_ptr<State> state_;
  int port_ = 0;
};

}  // namespace inferd::http

#endif  // INFERD_HTTP_HTTP_SERVER_H_
