#include "http/http_server.h"

#include <arpa/inet.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <optional>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/logging.h"

namespace inferd::http {

// File descriptors kept free for everything that is not an HTTP connection
// (gRPC, model files, logs), so that accepting never meets EMFILE.
constexpr rlim_t kReservedDescriptors = 256;

class Connection;

struct Server::State {
  ServerOptions options;
  Handler handler;
  MHD_Daemon* daemon = nullptr;

  absl::Mutex mu;
  // Dispatched requests not answered yet.
  absl::flat_hash_set<Connection*> pending ABSL_GUARDED_BY(mu);
  // Dispatched requests whose answer has not been sent yet (MHD has not
  // completed them): what Shutdown() waits for before closing connections.
  int unsent ABSL_GUARDED_BY(mu) = 0;
  bool stopped ABSL_GUARDED_BY(mu) = false;
};

// One request and its answer. Shared by MHD (until the request completes)
// and the Reply (until it has answered).
class Connection final : public ReplySink {
 public:
  Connection(Server::State* server, MHD_Connection* mhd)
      : server_(server), mhd_(mhd) {
    request.cancelled = &cancelled;
  }

  Request request;
  std::atomic<bool> cancelled{false};
  // Only MHD's thread for this connection uses these.
  bool too_large = false;
  bool dispatched = false;

  // Called on MHD's thread once the whole request is in. Returns what the
  // access handler returns.
  MHD_Result Dispatch(std::shared_ptr<Connection> self);

  // Called once the answer is ready: the access handler after a resume.
  MHD_Result QueueAnswer();

  void Answer(Response response) override;

 private:
  Server::State* const server_;
  MHD_Connection* const mhd_;
  absl::Mutex mu_;
  std::optional<Response> response_ ABSL_GUARDED_BY(mu_);
  bool suspended_ ABSL_GUARDED_BY(mu_) = false;
};

namespace {

void FreeString(void* string) { delete static_cast<std::string*>(string); }

MHD_Result Queue(MHD_Connection* mhd, Response response) {
  auto* body = new std::string(std::move(response.body));
  MHD_Response* answer = MHD_create_response_from_buffer_with_free_callback_cls(
      body->size(), body->data(), &FreeString, body);
  if (answer == nullptr) {
    delete body;
    return MHD_NO;
  }
  MHD_add_response_header(answer, MHD_HTTP_HEADER_CONTENT_TYPE,
                          response.content_type.c_str());
  for (const auto& [name, value] : response.headers) {
    MHD_add_response_header(answer, name.c_str(), value.c_str());
  }
  const MHD_Result queued =
      MHD_queue_response(mhd, static_cast<unsigned>(response.status), answer);
  MHD_destroy_response(answer);
  return queued;
}

Response TooLarge(const ServerOptions& options) {
  return Response{413,
                  "application/json",
                  {},
                  absl::StrCat("{\"error\":\"request body larger than ",
                               options.max_body_bytes, " bytes\"}")};
}

MHD_Result CollectHeader(void* cls, MHD_ValueKind, const char* key,
                         const char* value) {
  auto* headers =
      static_cast<absl::flat_hash_map<std::string, std::string>*>(cls);
  (*headers)[absl::AsciiStrToLower(key)] = value == nullptr ? "" : value;
  return MHD_YES;
}

MHD_Result OnRequest(void* cls, MHD_Connection* mhd, const char* url,
                     const char* method, const char*, const char* upload_data,
                     size_t* upload_size, void** context) {
  auto* server = static_cast<Server::State*>(cls);
  auto* held = static_cast<std::shared_ptr<Connection>*>(*context);
  if (held == nullptr) {
    auto connection = std::make_shared<Connection>(server, mhd);
    connection->request.method = method;
    connection->request.path = url;
    MHD_get_connection_values(mhd, MHD_HEADER_KIND, &CollectHeader,
                              &connection->request.headers);
    *context = new std::shared_ptr<Connection>(connection);
    if (const std::string* length =
            connection->request.Header("content-length")) {
      uint64_t bytes = 0;
      if (absl::SimpleAtoi(*length, &bytes)) {
        if (bytes > server->options.max_body_bytes) {
          return Queue(mhd, TooLarge(server->options));
        }
        connection->request.body.reserve(bytes);
      }
    }
    return MHD_YES;
  }
  Connection& connection = **held;
  if (*upload_size > 0) {
    std::string& body = connection.request.body;
    if (connection.too_large ||
        body.size() + *upload_size > server->options.max_body_bytes) {
      connection.too_large = true;
      std::string().swap(body);
    } else {
      body.append(upload_data, *upload_size);
    }
    *upload_size = 0;
    return MHD_YES;
  }
  if (connection.too_large) return Queue(mhd, TooLarge(server->options));
  return connection.Dispatch(*held);
}

void OnCompleted(void* cls, MHD_Connection*, void** context,
                 MHD_RequestTerminationCode) {
  auto* held = static_cast<std::shared_ptr<Connection>*>(*context);
  if (held == nullptr) return;
  if ((*held)->dispatched) {
    auto* server = static_cast<Server::State*>(cls);
    absl::MutexLock lock(&server->mu);
    --server->unsent;
  }
  delete held;
  *context = nullptr;
}

void OnConnection(void* cls, MHD_Connection*, void** socket_context,
                  MHD_ConnectionNotificationCode) {
  *socket_context = cls;
}

// GnuTLS's certificate callback, once per handshake: the server's current
// certificate and key, as objects GnuTLS frees with the session.
int RetrieveCertificate(gnutls_session_t session,
                        const gnutls_cert_retr_st* /*info*/,
                        gnutls_pcert_st** certs, unsigned int* count,
                        gnutls_ocsp_data_st** ocsp, unsigned int* ocsp_count,
                        gnutls_privkey_t* key, unsigned int* flags) {
  // MHD makes its connection the session's pointer.
  auto* mhd = static_cast<MHD_Connection*>(gnutls_session_get_ptr(session));
  const MHD_ConnectionInfo* info =
      mhd == nullptr
          ? nullptr
          : MHD_get_connection_info(mhd, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  if (info == nullptr || info->socket_context == nullptr) return -1;
  const auto* server = static_cast<Server::State*>(info->socket_context);
  *ocsp = nullptr;
  *ocsp_count = 0;
  *flags = GNUTLS_CERT_RETR_DEINIT_ALL;
  return server->options.tls->Retrieve(certs, count, key) < 0 ? -1 : 0;
}

void OnLog(void* cls, const char* format, va_list args) {
  char line[512];
  std::vsnprintf(line, sizeof(line), format, args);
  std::string text = line;
  while (!text.empty() && text.back() == '\n') text.pop_back();
  LogWarning(*static_cast<const std::string*>(cls), " server: ", text);
}

// The address to bind, as MHD_OPTION_SOCK_ADDR wants it.
struct BindAddress {
  sockaddr_storage storage{};
  bool ipv6 = false;
};

absl::StatusOr<BindAddress> ParseAddress(const std::string& host, int port) {
  BindAddress address;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&address.storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&address.storage);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
  } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    address.ipv6 = true;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "address \"", host, "\" is not a numeric IPv4 or IPv6 address"));
  }
  return address;
}

// options.connection_limit, lowered to what the process's file limit leaves
// after kReservedDescriptors.
int ConnectionLimit(const ServerOptions& options) {
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) != 0 ||
      files.rlim_cur == RLIM_INFINITY) {
    return options.connection_limit;
  }
  const rlim_t room = files.rlim_cur > 2 * kReservedDescriptors
                          ? files.rlim_cur - kReservedDescriptors
                          : files.rlim_cur / 2;
  if (static_cast<rlim_t>(options.connection_limit) <= room) {
    return options.connection_limit;
  }
  LogWarning(options.name, " server: connection limit lowered from ",
             options.connection_limit, " to ", room,
             " to stay below the open-file limit (", files.rlim_cur, ")");
  return static_cast<int>(room);
}

}  // namespace

MHD_Result Connection::Dispatch(std::shared_ptr<Connection> self) {
  {
    absl::MutexLock lock(&mu_);
    if (response_.has_value()) return QueueAnswer();
    if (suspended_) return MHD_YES;  // not answered yet
  }
  dispatched = true;
  {
    absl::MutexLock lock(&server_->mu);
    server_->pending.insert(this);
    ++server_->unsent;
  }
  server_->handler(request, Reply(std::move(self)));
  absl::MutexLock lock(&mu_);
  if (response_.has_value()) {
    Response answer = *std::move(response_);
    response_.reset();
    return Queue(mhd_, std::move(answer));
  }
  // The answer comes later, from another thread; Answer() resumes.
  suspended_ = true;
  MHD_suspend_connection(mhd_);
  return MHD_YES;
}

MHD_Result Connection::QueueAnswer() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  // Called with mu_ held by Dispatch().
  Response answer = *std::move(response_);
  response_.reset();
  return Queue(mhd_, std::move(answer));
}

void Connection::Answer(Response response) {
  {
    absl::MutexLock lock(&mu_);
    response_ = std::move(response);
    if (suspended_) {
      suspended_ = false;
      MHD_resume_connection(mhd_);
    }
  }
  absl::MutexLock lock(&server_->mu);
  server_->pending.erase(this);
}

const std::string* Request::Header(absl::string_view lowercase_name) const {
  auto it = headers.find(lowercase_name);
  return it == headers.end() ? nullptr : &it->second;
}

Reply::Reply(std::shared_ptr<ReplySink> sink) : sink_(std::move(sink)) {}

Reply::~Reply() {
  if (sink_ != nullptr) {
    (*this)(Response{500,
                     "application/json",
                     {},
                     "{\"error\":\"internal error: the request was dropped "
                     "without an answer\"}"});
  }
}

void Reply::operator()(Response response) {
  std::shared_ptr<ReplySink> sink = std::move(sink_);
  sink_ = nullptr;
  if (sink != nullptr) sink->Answer(std::move(response));
}

Server::Server(std::unique_ptr<State> state) : state_(std::move(state)) {}

absl::StatusOr<std::unique_ptr<Server>> Server::Start(
    const ServerOptions& options, Handler handler) {
  if (options.threads < 1 || options.threads > 1024) {
    return absl::InvalidArgumentError(absl::StrCat(
        options.name, " threads must be 1..1024, not ", options.threads));
  }
  if (options.port < 0 || options.port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        options.name, " port must be 0..65535, not ", options.port));
  }
  absl::StatusOr<BindAddress> address =
      ParseAddress(options.host, options.port);
  if (!address.ok()) return address.status();

  auto state = std::make_unique<State>();
  state->options = options;
  state->handler = std::move(handler);
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
                   MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
  if (address->ipv6) flags |= MHD_USE_IPv6;
  const bool tls = options.tls != nullptr;
  if (tls) flags |= MHD_USE_TLS;
  State* raw = state.get();
  std::vector<MHD_OptionItem> items = {
      {MHD_OPTION_SOCK_ADDR, 0, &address->storage},
      {MHD_OPTION_NOTIFY_COMPLETED, reinterpret_cast<intptr_t>(&OnCompleted),
       raw},
      {MHD_OPTION_CONNECTION_LIMIT,
       static_cast<intptr_t>(ConnectionLimit(options)), nullptr},
      {MHD_OPTION_CONNECTION_TIMEOUT,
       static_cast<intptr_t>(options.idle_timeout_secs), nullptr},
  };
  if (options.threads > 1) {
    items.push_back({MHD_OPTION_THREAD_POOL_SIZE,
                     static_cast<intptr_t>(options.threads), nullptr});
  }
  if (tls) {
    // The certificate callback finds the server through the connection's
    // socket context, which OnConnection sets.
    items.push_back({MHD_OPTION_NOTIFY_CONNECTION,
                     reinterpret_cast<intptr_t>(&OnConnection), raw});
    // A one-pointer option: the pointer goes in ptr_value.
    items.push_back({MHD_OPTION_HTTPS_CERT_CALLBACK2, 0,
                     reinterpret_cast<void*>(&RetrieveCertificate)});
  }
  items.push_back({MHD_OPTION_END, 0, nullptr});
  // The logger must be the first option, else MHD logs the others itself.
  raw->daemon =
      MHD_start_daemon(flags, 0, nullptr, nullptr, &OnRequest, raw,
                       MHD_OPTION_EXTERNAL_LOGGER, &OnLog, &raw->options.name,
                       MHD_OPTION_ARRAY, items.data(), MHD_OPTION_END);
  if (raw->daemon == nullptr) {
    return absl::UnavailableError(absl::StrCat(
        "cannot serve ", options.name, " on ", options.host, ":", options.port,
        " (address in use, not local, or a bad TLS "
        "certificate or key)"));
  }
  std::unique_ptr<Server> server(new Server(std::move(state)));
  const MHD_DaemonInfo* info =
      MHD_get_daemon_info(raw->daemon, MHD_DAEMON_INFO_BIND_PORT);
  server->port_ = info == nullptr ? options.port : info->port;
  return server;
}

int Server::in_flight() const {
  absl::MutexLock lock(&state_->mu);
  return static_cast<int>(state_->pending.size());
}

void Server::Shutdown(absl::Duration grace) {
  {
    absl::MutexLock lock(&state_->mu);
    if (state_->stopped) return;
    state_->stopped = true;
  }
  const MHD_socket listener = MHD_quiesce_daemon(state_->daemon);
  if (listener != MHD_INVALID_SOCKET) close(listener);
  auto answered = [this]() ABSL_SHARED_LOCKS_REQUIRED(state_->mu) {
    return state_->pending.empty();
  };
  {
    absl::MutexLock lock(&state_->mu);
    if (!state_->mu.AwaitWithTimeout(absl::Condition(&answered), grace)) {
      LogWarning(state_->options.name, " server: ", state_->pending.size(),
                 " requests still unanswered after ",
                 absl::FormatDuration(grace), "; cancelling them");
      for (Connection* connection : state_->pending) {
        connection->cancelled.store(true, std::memory_order_relaxed);
      }
      // Cancelled requests are answered by whoever holds them (a model's
      // queue answers them without running them).
      state_->mu.Await(absl::Condition(&answered));
    }
    // Answers are written by MHD's threads; give them time to go out (a
    // client that does not read is cut off).
    auto sent = [this]() ABSL_SHARED_LOCKS_REQUIRED(state_->mu) {
      return state_->unsent == 0;
    };
    state_->mu.AwaitWithTimeout(absl::Condition(&sent),
                                std::max(grace, absl::Seconds(1)));
  }
  MHD_stop_daemon(state_->daemon);
  state_->daemon = nullptr;
}

Server::~Server() { Shutdown(); }

}  // namespace inferd::http
