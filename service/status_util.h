#ifndef INFERD_SERVICE_STATUS_UTIL_H_
#define INFERD_SERVICE_STATUS_UTIL_H_

#include <grpcpp/grpcpp.h>
#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace inferd {

// The one place where absl::Status becomes grpc::Status: same code, same
// message.
grpc::Status ToGrpcStatus(const absl::Status& status);

// Answers a unary callback RPC at once with `status`; returns the reactor
// the handler must return.
grpc::ServerUnaryReactor* FinishNow(grpc::CallbackServerContext* context,
                                    const grpc::Status& status);

}  // namespace inferd

#endif  // INFERD_SERVICE_STATUS_UTIL_H_
