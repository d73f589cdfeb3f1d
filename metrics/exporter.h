#ifndef INFERD_METRICS_EXPORTER_H_
#define INFERD_METRICS_EXPORTER_H_

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "metrics/metrics.h"

namespace inferd::metrics {

// Serves ServerMetrics (and the process metrics) as Prometheus text format
// on http://host:port/metrics: one thread, one connection at a time, which is
// what a few scrapers need. The body is prometheus-cpp's TextSerializer.
//
// Why not prometheus-cpp's Exposer: its civetweb starts worker threads with a
// fixed ~100 KiB stack, smaller than the static TLS that LibTorch's
// dependencies bring into the process (OpenBLAS alone reserves 60 KiB), so in
// inferd civetweb cannot create a single thread ("Cannot create first worker
// thread"; reproduced with Debian's civetweb 1.15 by preloading
// libtorch_cpu.so into a program that only calls mg_start2).
//
// Thread-safe; the destructor stops and joins the serving thread.
class MetricsExporter {
 public:
  // `metrics` must outlive the exporter. Port 0 picks a free port.
  // Unavailable when the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<MetricsExporter>> Start(
      const std::string& host, int port, ServerMetrics* metrics);
  ~MetricsExporter();
  MetricsExporter(const MetricsExporter&) = delete;
  MetricsExporter& operator=(const MetricsExporter&) = delete;

  int port() const { return port_; }

 private:
  MetricsExporter(ServerMetrics* metrics, int listen_fd, int port,
                  int wake_read, int wake_write);

  void Serve();
  void Answer(int connection) const;

  ServerMetrics* const metrics_;
  const int listen_fd_;
  const int port_;
  // Writing a byte to wake_write_ makes Serve() return.
  const int wake_read_;
  const int wake_write_;
  std::thread thread_;
};

// The response to one HTTP request (request line and headers in `request`):
// GET /metrics gets the exposition, other paths 404, other methods 405.
std::string HttpResponse(const std::string& request,
                         const ServerMetrics& metrics);

}  // namespace inferd::metrics

#endif  // INFERD_METRICS_EXPORTER_H_
