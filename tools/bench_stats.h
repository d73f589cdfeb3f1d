#ifndef INFERD_TOOLS_BENCH_STATS_H_
#define INFERD_TOOLS_BENCH_STATS_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace inferd::bench {

// Raw observations of one concurrency level (or of one client thread's share
// of it). Plain data; thread-compatible, not thread-safe.
struct Samples {
  // Latency of each OK request completed in the measured window, send to
  // completion, in milliseconds.
  std::vector<double> latency_ms;
  // Failed requests completed in the measured window, by gRPC status code
  // name ("UNAVAILABLE").
  std::map<std::string, int64_t> errors;
  // The first error message seen for each code in `errors`.
  std::map<std::string, std::string> first_error;

  // Appends `other`'s observations; keeps this object's first messages.
  void Merge(Samples other);
};

// What identifies a level in the reports.
struct LevelKey {
  std::string system;  // --label: the system under test
  std::string model;
  int concurrency = 0;
  int64_t rows_per_request = 0;
};

// One row of the report.
struct LevelResult {
  LevelKey key;
  // OK requests per second of the measured window.
  double requests_per_second = 0;
  // OK rows (inferences) per second: requests_per_second * rows_per_request.
  double inferences_per_second = 0;
  // Nearest-rank percentiles over OK requests; 0 when none succeeded.
  double p50_ms = 0;
  double p90_ms = 0;
  double p99_ms = 0;
  std::map<std::string, int64_t> errors;
};

// Returns the nearest-rank `quantile` (in [0, 1]) of `sorted`, which must be
// sorted ascending; 0 when it is empty.
double Percentile(const std::vector<double>& sorted, double quantile);

// Turns a level's samples into a report row. REQUIRES: seconds > 0.
LevelResult Summarize(const LevelKey& key, double seconds, Samples samples);

// Formats errors as "CODE:count;CODE:count" (empty when there are none).
std::string FormatErrors(const std::map<std::string, int64_t>& errors);

}  // namespace inferd::bench

#endif  // INFERD_TOOLS_BENCH_STATS_H_
