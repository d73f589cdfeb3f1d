#include "metrics/metrics.h"

#include <prometheus/text_serializer.h>

#include <tuple>
#include <vector>

#include "metrics/process_collector.h"

namespace inferd::metrics {
namespace {

// Seconds from ~50 µs (a tiny model answered from a warm queue) to 10 s.
const prometheus::Histogram::BucketBoundaries& DurationBuckets() {
  static const auto* const buckets =
      new prometheus::Histogram::BucketBoundaries{
          0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,    0.1,    0.25,    0.5,    1,     2.5,    5,     10};
  return *buckets;
}

// Rows per batch: powers of two up to 256.
const prometheus::Histogram::BucketBoundaries& BatchBuckets() {
  static const auto* const buckets =
      new prometheus::Histogram::BucketBoundaries{1,  2,  4,   8,  16,
                                                  32, 64, 128, 256};
  return *buckets;
}

prometheus::Labels With(prometheus::Labels labels, const std::string& key,
                        const std::string& value) {
  labels[key] = value;
  return labels;
}

}  // namespace

ModelVersionMetrics::ModelVersionMetrics(ServerMetrics* server,
                                         const prometheus::Labels& labels)
    : server_(server),
      labels_(labels),
      queue_duration_(server->queue_duration_.Add(labels, DurationBuckets())),
      compute_duration_(
          server->compute_duration_.Add(labels, DurationBuckets())),
      batch_size_(server->batch_size_.Add(labels, BatchBuckets())),
      inferences_(server->inferences_.Add(labels)),
      executions_(server->executions_.Add(labels)),
      queue_depth_(server->queue_depth_.Add(labels)),
      queue_capacity_(server->queue_capacity_.Add(labels)),
      ready_(server->ready_.Add(labels)) {}

void ModelVersionMetrics::CountRequest(Protocol protocol, absl::StatusCode code,
                                       absl::Duration duration) {
  // The arrays' sizes are constants; reading them needs no lock.
  constexpr size_t kCodes =
      std::tuple_size<decltype(requests_)::value_type>::value;
  const size_t index = static_cast<size_t>(code) < kCodes
                           ? static_cast<size_t>(code)
                           : static_cast<size_t>(absl::StatusCode::kUnknown);
  const size_t from = static_cast<size_t>(protocol);
  prometheus::Counter* counter = nullptr;
  prometheus::Histogram* histogram = nullptr;
  {
    absl::MutexLock lock(&mu_);
    // The label set is built only when a series is created: a request that
    // finds both handles allocates nothing.
    const auto labels = [&] {
      return With(labels_, "protocol", ProtocolName(protocol));
    };
    counter = requests_[from][index];
    if (counter == nullptr) {
      counter = &server_->requests_.Add(
          With(labels(), "code",
               absl::StatusCodeToString(static_cast<absl::StatusCode>(index))));
      requests_[from][index] = counter;
    }
    histogram = request_duration_[from];
    if (histogram == nullptr) {
      histogram = &server_->request_duration_.Add(labels(), DurationBuckets());
      request_duration_[from] = histogram;
    }
  }
  counter->Increment();
  histogram->Observe(absl::ToDoubleSeconds(duration));
}

void ModelVersionMetrics::ObserveQueue(absl::Duration waited) {
  queue_duration_.Observe(absl::ToDoubleSeconds(waited));
}

void ModelVersionMetrics::ObserveBatch(int64_t rows, absl::Duration compute) {
  batch_size_.Observe(static_cast<double>(rows));
  compute_duration_.Observe(absl::ToDoubleSeconds(compute));
  inferences_.Increment(static_cast<double>(rows));
  executions_.Increment();
}

void ModelVersionMetrics::SetQueueDepth(size_t requests) {
  queue_depth_.Set(static_cast<double>(requests));
}

void ModelVersionMetrics::SetQueueCapacity(size_t requests) {
  queue_capacity_.Set(static_cast<double>(requests));
}

void ModelVersionMetrics::SetReady(bool ready) { ready_.Set(ready ? 1 : 0); }

ServerMetrics::ServerMetrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      process_(std::make_shared<ProcessCollector>()),
      requests_(
          prometheus::BuildCounter()
              .Name("inferd_requests_total")
              .Help(
                  "Inference calls answered, by protocol and gRPC status code.")
              .Register(*registry_)),
      request_duration_(prometheus::BuildHistogram()
                            .Name("inferd_request_duration_seconds")
                            .Help("Inference calls from receipt to answer, by "
                                  "protocol, in seconds.")
                            .Register(*registry_)),
      queue_duration_(prometheus::BuildHistogram()
                          .Name("inferd_queue_duration_seconds")
                          .Help("Time requests waited in the batching queue.")
                          .Register(*registry_)),
      compute_duration_(prometheus::BuildHistogram()
                            .Name("inferd_compute_duration_seconds")
                            .Help("Time the model took per executed batch.")
                            .Register(*registry_)),
      batch_size_(prometheus::BuildHistogram()
                      .Name("inferd_batch_size")
                      .Help("Rows per executed batch.")
                      .Register(*registry_)),
      inferences_(prometheus::BuildCounter()
                      .Name("inferd_inferences_total")
                      .Help("Rows inferred (a request may carry several).")
                      .Register(*registry_)),
      executions_(prometheus::BuildCounter()
                      .Name("inferd_executions_total")
                      .Help("Batches executed.")
                      .Register(*registry_)),
      queue_depth_(prometheus::BuildGauge()
                       .Name("inferd_queue_depth")
                       .Help("Requests waiting in the batching queue.")
                       .Register(*registry_)),
      queue_capacity_(prometheus::BuildGauge()
                          .Name("inferd_queue_capacity")
                          .Help("The queue's max_queue_size; 0: unbounded.")
                          .Register(*registry_)),
      loads_(prometheus::BuildCounter()
                 .Name("inferd_model_loads_total")
                 .Help("Attempts to load a model version, by result.")
                 .Register(*registry_)),
      ready_(prometheus::BuildGauge()
                 .Name("inferd_model_ready")
                 .Help("1 while the model version serves requests.")
                 .Register(*registry_)),
      access_refusals_(
          prometheus::BuildCounter()
              .Name("inferd_access_refusals_total")
              .Help("Calls refused for a missing or wrong access key, by "
                    "protocol and protocol group.")
              .Register(*registry_)) {}

ModelVersionMetrics* ServerMetrics::ForVersion(const std::string& model,
                                               const std::string& version) {
  absl::MutexLock lock(&mu_);
  std::unique_ptr<ModelVersionMetrics>& slot = versions_[{model, version}];
  if (slot == nullptr) {
    slot.reset(new ModelVersionMetrics(
        this, prometheus::Labels{{"model", model}, {"version", version}}));
  }
  return slot.get();
}

void ServerMetrics::CountUnresolvedRequest(Protocol protocol,
                                           const std::string& known_model,
                                           absl::StatusCode code,
                                           absl::Duration duration) {
  const prometheus::Labels labels{{"model", known_model},
                                  {"version", ""},
                                  {"protocol", ProtocolName(protocol)}};
  requests_.Add(With(labels, "code", absl::StatusCodeToString(code)))
      .Increment();
  request_duration_.Add(labels, DurationBuckets())
      .Observe(absl::ToDoubleSeconds(duration));
}

void ServerMetrics::CountAccessRefusal(Protocol protocol,
                                       const std::string& group) {
  access_refusals_.Add({{"protocol", ProtocolName(protocol)}, {"group", group}})
      .Increment();
}

void ServerMetrics::CountLoad(const std::string& model,
                              const std::string& version, bool success) {
  loads_
      .Add({{"model", model},
            {"version", version},
            {"result", success ? "success" : "failure"}})
      .Increment();
}

std::string Exposition(const ServerMetrics& metrics) {
  std::vector<prometheus::MetricFamily> families =
      metrics.registry()->Collect();
  for (auto& family : metrics.process_collector()->Collect()) {
    families.push_back(std::move(family));
  }
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace inferd::metrics
