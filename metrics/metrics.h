#ifndef INFERD_METRICS_METRICS_H_
#define INFERD_METRICS_METRICS_H_

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/protocol.h"

namespace inferd::metrics {

class ServerMetrics;

// The metrics of one model version (labels model, version). Handles point
// into the ServerMetrics that made them and live as long as it. Thread-safe.
class ModelVersionMetrics {
 public:
  // One answered inference call: the front end it came through, its status
  // code and its end-to-end duration.
  void CountRequest(Protocol protocol, absl::StatusCode code,
                    absl::Duration duration);
  // Time one request waited in the batching queue.
  void ObserveQueue(absl::Duration waited);
  // One executed batch: its rows and how long the model took.
  void ObserveBatch(int64_t rows, absl::Duration compute);
  void SetQueueDepth(size_t requests);
  // The queue's bound (max_queue_size); 0 means unbounded.
  void SetQueueCapacity(size_t requests);
  void SetReady(bool ready);

 private:
  friend class ServerMetrics;
  ModelVersionMetrics(ServerMetrics* server, const prometheus::Labels& labels);

  ServerMetrics* const server_;
  const prometheus::Labels labels_;
  prometheus::Histogram& queue_duration_;
  prometheus::Histogram& compute_duration_;
  prometheus::Histogram& batch_size_;
  prometheus::Counter& inferences_;
  prometheus::Counter& executions_;
  prometheus::Gauge& queue_depth_;
  prometheus::Gauge& queue_capacity_;
  prometheus::Gauge& ready_;

  absl::Mutex mu_;
  // Request counters by protocol and status code, and durations by
  // protocol, created on first use so only what happened is exported.
  std::array<std::array<prometheus::Counter*, 17>, kProtocolCount> requests_
      ABSL_GUARDED_BY(mu_) = {};
  std::array<prometheus::Histogram*, kProtocolCount> request_duration_
      ABSL_GUARDED_BY(mu_) = {};
};

// Every metric family inferd exports, in one prometheus-cpp registry, plus
// the standard process metrics. Label values are only model names and
// versions the server knows (never client-supplied strings). Thread-safe.
class ServerMetrics {
 public:
  ServerMetrics();

  // The registry the exporter serves, and the process collector beside it.
  std::shared_ptr<prometheus::Registry> registry() const { return registry_; }
  std::shared_ptr<prometheus::Collectable> process_collector() const {
    return process_;
  }

  // The handles of (model, version), created on first use; never null.
  ModelVersionMetrics* ForVersion(const std::string& model,
                                  const std::string& version);

  // A call that did not reach a model version (unknown model: model ""; a
  // known model's unknown version: version "").
  void CountUnresolvedRequest(Protocol protocol, const std::string& known_model,
                              absl::StatusCode code, absl::Duration duration);

  // A call refused by an access key (--grpc-restricted-protocol,
  // --http-restricted-api): its front end and protocol group.
  void CountAccessRefusal(Protocol protocol, const std::string& group);

  // One attempt to load `version` of `model` ("" when no version was found).
  void CountLoad(const std::string& model, const std::string& version,
                 bool success);

 private:
  friend class ModelVersionMetrics;

  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<prometheus::Collectable> process_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& request_duration_;
  prometheus::Family<prometheus::Histogram>& queue_duration_;
  prometheus::Family<prometheus::Histogram>& compute_duration_;
  prometheus::Family<prometheus::Histogram>& batch_size_;
  prometheus::Family<prometheus::Counter>& inferences_;
  prometheus::Family<prometheus::Counter>& executions_;
  prometheus::Family<prometheus::Gauge>& queue_depth_;
  prometheus::Family<prometheus::Gauge>& queue_capacity_;
  prometheus::Family<prometheus::Counter>& loads_;
  prometheus::Family<prometheus::Gauge>& ready_;
  prometheus::Family<prometheus::Counter>& access_refusals_;

  absl::Mutex mu_;
  std::map<std::pair<std::string, std::string>,
           std::unique_ptr<ModelVersionMetrics>>
      versions_ ABSL_GUARDED_BY(mu_);
};

// The text exposition of everything `metrics` holds, as /metrics serves it.
std::string Exposition(const ServerMetrics& metrics);

}  // namespace inferd::metrics

#endif  // INFERD_METRICS_METRICS_H_
