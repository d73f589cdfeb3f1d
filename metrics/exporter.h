#ifndef INFERD_METRICS_EXPORTER_H_
#define INFERD_METRICS_EXPORTER_H_

#include <memory>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "http/http_server.h"
#include "metrics/metrics.h"

namespace inferd::metrics {

// Serves ServerMetrics (and the process metrics) as Prometheus text format
// on http(s)://host:port/metrics, on inferd's HTTP server (libmicrohttpd):
// concurrent scrapes are answered at once, and a slow or idle client holds no
// thread (see http/http_server.h). The body is prometheus-cpp's
// TextSerializer.
//
// Why not prometheus-cpp's Exposer: its civetweb starts worker threads with a
// fixed ~100 KiB stack, smaller than the static TLS that LibTorch's
// dependencies bring into the process (OpenBLAS alone reserves 60 KiB), so in
// inferd civetweb cannot create a single thread ("Cannot create first worker
// thread"; reproduced with Debian's civetweb 1.15 by preloading
// libtorch_cpu.so into a program that only calls mg_start2).
//
// Thread-safe; the destructor stops serving.
class MetricsExporter {
 public:
  // `metrics` must outlive the exporter. Port 0 picks a free port.
  // Unavailable when the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<MetricsExporter>> Start(
      http::ServerOptions options, ServerMetrics* metrics);

  int port() const { return server_->port(); }

 private:
  explicit MetricsExporter(std::unique_ptr<http::Server> server)
      : server_(std::move(server)) {}

  std::unique_ptr<http::Server> server_;
};

// The answer to one request: GET (or HEAD) /metrics gets the exposition,
// other paths 404, other methods 405.
http::Response MetricsResponse(const http::Request& request,
                               const ServerMetrics& metrics);

}  // namespace inferd::metrics

#endif  // INFERD_METRICS_EXPORTER_H_
