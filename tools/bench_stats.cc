#include "tools/bench_stats.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace inferd::bench {

void Samples::Merge(Samples other) {
  latency_ms.insert(latency_ms.end(), other.latency_ms.begin(),
                    other.latency_ms.end());
  for (const auto& [code, count] : other.errors) {
    errors[code] += count;
  }
  // insert() keeps an existing message, so the first one seen wins.
  first_error.insert(std::make_move_iterator(other.first_error.begin()),
                     std::make_move_iterator(other.first_error.end()));
}

double Percentile(const std::vector<double>& sorted, double quantile) {
  if (sorted.empty()) {
    return 0;
  }
  const double rank = std::ceil(quantile * static_cast<double>(sorted.size()));
  const size_t index = rank < 1 ? 0 : static_cast<size_t>(rank) - 1;
  return sorted[std::min(index, sorted.size() - 1)];
}

LevelResult Summarize(const LevelKey& key, double seconds, Samples samples) {
  LevelResult result;
  result.key = key;
  const double ok = static_cast<double>(samples.latency_ms.size());
  result.requests_per_second = ok / seconds;
  result.inferences_per_second =
      result.requests_per_second * static_cast<double>(key.rows_per_request);
  std::sort(samples.latency_ms.begin(), samples.latency_ms.end());
  result.p50_ms = Percentile(samples.latency_ms, 0.50);
  result.p90_ms = Percentile(samples.latency_ms, 0.90);
  result.p99_ms = Percentile(samples.latency_ms, 0.99);
  result.errors = std::move(samples.errors);
  return result;
}

std::string FormatErrors(const std::map<std::string, int64_t>& errors) {
  return absl::StrJoin(errors, ";", absl::PairFormatter(":"));
}

}  // namespace inferd::bench
