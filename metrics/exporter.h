#ifndef INFERD_METRICS_EXPORTER_H_
#define INFERD_METRICS_EXPORTER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "metrics/metrics.h"

namespace prometheus {
class Exposer;
}

namespace inferd::metrics {

// Serves ServerMetrics (and the process metrics) as Prometheus text on
// http://host:port/metrics. Stops in the destructor. Thread-safe.
class MetricsExporter {
 public:
  // `metrics` must outlive the exporter. Port 0 picks a free port.
  // Unavailable when the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<MetricsExporter>> Start(
      const std::string& host, int port, ServerMetrics* metrics);
  ~MetricsExporter();

  int port() const { return port_; }

 private:
  MetricsExporter() = default;

  std::unique_ptr<prometheus::Exposer> exposer_;
  int port_ = 0;
};

}  // namespace inferd::metrics

#endif  // INFERD_METRICS_EXPORTER_H_
