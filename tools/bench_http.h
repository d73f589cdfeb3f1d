#ifndef INFERD_TOOLS_BENCH_HTTP_H_
#define INFERD_TOOLS_BENCH_HTTP_H_

#include <string>

#include "proto/inference.pb.h"
#include "tools/bench_load.h"
#include "tools/bench_stats.h"

namespace inferd::bench {

// Drives POST /v2/models/M/infer over HTTP/1.1 in a closed loop: one client
// thread and keep-alive connection per concurrency slot (cpp-httplib's
// client is blocking). The body is `request` as JSON tensors, or with
// `binary` as Triton's binary tensor extension both ways.
class HttpLoadDriver final : public Driver {
 public:
  HttpLoadDriver(std::string host, int port,
                 const inference::ModelInferRequest& request, bool binary);

  Samples RunLevel(const LoadOptions& options) override;

 private:
  const std::string host_;
  const int port_;
  std::string path_;
  std::string body_;
  std::string json_length_;  // empty: no binary data
};

}  // namespace inferd::bench

#endif  // INFERD_TOOLS_BENCH_HTTP_H_
