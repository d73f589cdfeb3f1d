#include "metrics/exporter.h"

#include <utility>

namespace inferd::metrics {

http::Response MetricsResponse(const http::Request& request,
                               const ServerMetrics& metrics) {
  if (request.path != "/metrics") {
    return {404, "text/plain", {}, "metrics are at /metrics\n"};
  }
  if (request.method != "GET" && request.method != "HEAD") {
    return {405, "text/plain", {{"Allow", "GET, HEAD"}}, "use GET\n"};
  }
  return {
      200, "text/plain; version=0.0.4; charset=utf-8", {}, Exposition(metrics)};
}

absl::StatusOr<std::unique_ptr<MetricsExporter>> MetricsExporter::Start(
    http::ServerOptions options, ServerMetrics* metrics) {
  options.name = "metrics";
  // Scrapes send no body.
  options.max_body_bytes = 0;
  absl::StatusOr<std::unique_ptr<http::Server>> server = http::Server::Start(
      options, [metrics](const http::Request& request, http::Reply reply) {
        reply(MetricsResponse(request, *metrics));
      });
  if (!server.ok()) return server.status();
  return std::unique_ptr<MetricsExporter>(
      new MetricsExporter(std::move(*server)));
}

}  // namespace inferd::metrics
