// The client library's internals, for this repository's own code (tests,
// tools/inferd-bench) and not installed: the protocol message behind an
// InferRequest, the conversion of a response into an InferResult, and the
// channel cache.

#ifndef INFERD_CLIENT_INTERNAL_H_
#define INFERD_CLIENT_INTERNAL_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <optional>
#include <string>

#include "inferd/client.h"
#include "proto/inference.pb.h"

namespace inferd::client::internal {

struct Access {
  // The ModelInfer request `request` sends.
  static const inference::ModelInferRequest& Wire(const InferRequest& request);
  // A result holding `response`'s outputs (their raw bytes moved out).
  // INTERNAL when the outputs do not come back raw, one entry each.
  static InferResult FromResponse(inference::ModelInferResponse response,
                                  int connect_attempts);
  static void SetConnectAttempts(InferResult* result, int attempts) {
    result->connect_attempts_ = attempts;
  }
};

// The channel for `target` with `tls` (plaintext when unset): one per
// distinct pair in the process, made on first use and kept until exit.
std::shared_ptr<grpc::Channel> SharedChannel(
    const std::string& target, const std::optional<TlsOptions>& tls);

}  // namespace inferd::client::internal

#endif  // INFERD_CLIENT_INTERNAL_H_
