#ifndef INFERD_METRICS_PROCESS_COLLECTOR_H_
#define INFERD_METRICS_PROCESS_COLLECTOR_H_

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <vector>

namespace inferd::metrics {

// The standard process metrics, read from /proc at scrape time:
// process_cpu_seconds_total, process_resident_memory_bytes,
// process_start_time_seconds. A value /proc does not give is left out.
// Thread-safe (it holds no state).
class ProcessCollector final : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override;
};

}  // namespace inferd::metrics

#endif  // INFERD_METRICS_PROCESS_COLLECTOR_H_
