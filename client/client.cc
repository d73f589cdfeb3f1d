// Client: the channel cache, connection attempts and the ModelInfer call
// (inferd/client.h).

#include "inferd/client.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "client/internal.h"
#include "proto/inference.grpc.pb.h"

namespace inferd::client {

using Clock = std::chrono::system_clock;

namespace internal {

std::shared_ptr<grpc::Channel> SharedChannel(
    const std::string& target, const std::optional<TlsOptions>& tls) {
  struct Cache {
    std::mutex mu;
    std::map<std::string, std::shared_ptr<grpc::Channel>> channels;
  };
  // Never destroyed: a channel must not be torn down by a static destructor
  // racing gRPC's own shutdown.
  static Cache* const cache = new Cache;

  // Targets and PEM text hold no NUL.
  std::string key = target;
  key += '\0';
  if (tls) {
    key += "tls";
    for (const std::string* part :
         {&tls->root_certs, &tls->cert_chain, &tls->private_key}) {
      key += '\0';
      key += *part;
    }
  }
  std::lock_guard<std::mutex> lock(cache->mu);
  std::shared_ptr<grpc::Channel>& channel = cache->channels[key];
  if (channel == nullptr) {
    std::shared_ptr<grpc::ChannelCredentials> credentials;
    if (tls) {
      grpc::SslCredentialsOptions ssl;
      ssl.pem_root_certs = tls->root_certs;
      ssl.pem_cert_chain = tls->cert_chain;
      ssl.pem_private_key = tls->private_key;
      credentials = grpc::SslCredentials(ssl);
    } else {
      credentials = grpc::InsecureChannelCredentials();
    }
    grpc::ChannelArguments args;
    // The server bounds its answers (--grpc-max-message-bytes); gRPC's
    // default 4 MiB would refuse large outputs it sends.
    args.SetMaxReceiveMessageSize(-1);
    // gRPC's transparent retry (a stream the server refused before reading
    // it is sent again); on by default, stated because the retry rule of
    // inferd/client.h counts on it.
    args.SetInt(GRPC_ARG_ENABLE_RETRIES, 1);
    channel = grpc::CreateCustomChannel(target, credentials, args);
  }
  return channel;
}

}  // namespace internal

namespace {

const char* StateName(grpc_connectivity_state state) {
  switch (state) {
    case GRPC_CHANNEL_IDLE:
      return "IDLE";
    case GRPC_CHANNEL_CONNECTING:
      return "CONNECTING";
    case GRPC_CHANNEL_READY:
      return "READY";
    case GRPC_CHANNEL_TRANSIENT_FAILURE:
      return "TRANSIENT_FAILURE";
    case GRPC_CHANNEL_SHUTDOWN:
      return "SHUTDOWN";
  }
  return "UNKNOWN";
}

// One connection attempt: waits until `channel` is READY (true), a
// connection attempt seen to start has failed, or `until` (false). `state`:
// where the channel ended.
//
// After a failure gRPC keeps reporting TRANSIENT_FAILURE while it reconnects
// in the background (pick_first's sticky failure), so a later attempt sees
// no failure: it starts a connection at once, resetting gRPC's reconnect
// backoff, and waits for READY until `until`.
bool AwaitReady(grpc::Channel& channel, Clock::time_point until,
                grpc_connectivity_state* state) {
  if (channel.GetState(/*try_to_connect=*/false) ==
      GRPC_CHANNEL_TRANSIENT_FAILURE) {
    grpc::experimental::ChannelResetConnectionBackoff(&channel);
  }
  *state = channel.GetState(/*try_to_connect=*/true);
  bool connecting = false;
  while (*state != GRPC_CHANNEL_READY) {
    if (*state == GRPC_CHANNEL_SHUTDOWN ||
        (*state == GRPC_CHANNEL_TRANSIENT_FAILURE && connecting)) {
      return false;
    }
    connecting |= *state == GRPC_CHANNEL_CONNECTING;
    if (!channel.WaitForStateChange(*state, until)) return false;
    *state = channel.GetState(/*try_to_connect=*/true);
  }
  return true;
}

}  // namespace

struct Client::Impl {
  std::string target;
  ClientOptions options;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<inference::GRPCInferenceService::Stub> stub;
};

Client::Client(std::string target, ClientOptions options) {
  auto impl = std::make_shared<Impl>();
  impl->channel = internal::SharedChannel(target, options.tls);
  impl->stub = inference::GRPCInferenceService::NewStub(impl->channel);
  impl->target = std::move(target);
  impl->options = std::move(options);
  impl_ = std::move(impl);
}

const std::string& Client::target() const { return impl_->target; }

InferResult Client::Infer(const InferRequest& request,
                          Clock::time_point deadline) const {
  if (!request.status().ok()) return InferResult(request.status());
  const ClientOptions& options = impl_->options;
  const int max_attempts = std::max(1, options.max_connect_attempts);
  auto backoff = options.initial_backoff;
  grpc_connectivity_state state = GRPC_CHANNEL_IDLE;
  int attempt = 0;
  // Until the channel is READY nothing has been sent, so a failed attempt
  // may be retried. After that the call is made once.
  while (attempt < max_attempts && Clock::now() < deadline) {
    ++attempt;
    const Clock::time_point until =
        std::min(deadline, Clock::now() + options.connect_timeout);
    if (AwaitReady(*impl_->channel, until, &state)) {
      grpc::ClientContext context;
      context.set_deadline(deadline);
      inference::ModelInferResponse response;
      const grpc::Status status = impl_->stub->ModelInfer(
          &context, internal::Access::Wire(request), &response);
      if (!status.ok()) {
        InferResult result(status);
        internal::Access::SetConnectAttempts(&result, attempt);
        return result;
      }
      return internal::Access::FromResponse(std::move(response), attempt);
    }
    if (attempt < max_attempts) {
      std::this_thread::sleep_until(std::min(deadline, Clock::now() + backoff));
      backoff *= 2;
    }
  }
  const std::string tried =
      attempt == 0 ? "the request was not sent"
                   : std::to_string(attempt) + " connection attempt(s) to " +
                         impl_->target + " failed (channel " +
                         StateName(state) + "); the request was not sent";
  InferResult result(
      Clock::now() >= deadline
          ? grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                         "deadline passed before a connection to " +
                             impl_->target + ": " + tried)
          : grpc::Status(grpc::StatusCode::UNAVAILABLE, tried));
  internal::Access::SetConnectAttempts(&result, attempt);
  return result;
}

}  // namespace inferd::client
