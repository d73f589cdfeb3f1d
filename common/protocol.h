#ifndef INFERD_COMMON_PROTOCOL_H_
#define INFERD_COMMON_PROTOCOL_H_

#include <cstddef>

namespace inferd {

// The front end an inference call came through; its metrics carry it as
// the label protocol="grpc" or "http".
enum class Protocol { kGrpc = 0, kHttp = 1 };
inline constexpr size_t kProtocolCount = 2;

inline const char* ProtocolName(Protocol protocol) {
  return protocol == Protocol::kHttp ? "http" : "grpc";
}

}  // namespace inferd

#endif  // INFERD_COMMON_PROTOCOL_H_
