#include "metrics/exporter.h"

#include <prometheus/exposer.h>

#include <exception>

#include "absl/strings/str_cat.h"

namespace inferd::metrics {

absl::StatusOr<std::unique_ptr<MetricsExporter>> MetricsExporter::Start(
    const std::string& host, int port, ServerMetrics* metrics) {
  const std::string address =
      host.find(':') != std::string::npos
          ? absl::StrCat("[", host, "]:", port)
          : absl::StrCat(host, ":", port);
  std::unique_ptr<MetricsExporter> exporter(new MetricsExporter());
  try {
    // Two threads are plenty for a scraper or two.
    exporter->exposer_ = std::make_unique<prometheus::Exposer>(address, 2);
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat(
        "metrics: cannot listen on ", address, ": ", e.what()));
  }
  exporter->exposer_->RegisterCollectable(metrics->registry());
  exporter->exposer_->RegisterCollectable(metrics->process_collector());
  const auto ports = exporter->exposer_->GetListeningPorts();
  exporter->port_ = ports.empty() ? port : ports.front();
  return exporter;
}

MetricsExporter::~MetricsExporter() = default;

}  // namespace inferd::metrics
