#include "model_store/scheduler_options.h"

#include <algorithm>
#include <string>

namespace inferd {

batching::BatchSchedulerOptions SchedulerOptionsFromConfig(
    const inference::ModelConfig& config, absl::string_view display_name) {
  batching::BatchSchedulerOptions options;
  options.name = std::string(display_name);
  options.policy.max_batch_size = std::max<int64_t>(1, config.max_batch_size());
  options.num_workers = 0;
  for (const auto& group : config.instance_group()) {
    options.num_workers += std::max(1, group.count());
  }
  options.num_workers = std::max(1, options.num_workers);
  if (!config.has_dynamic_batching()) return options;
  const auto& dynamic = config.dynamic_batching();
  options.policy.dynamic_batching = true;
  options.policy.preferred_batch_sizes.assign(
      dynamic.preferred_batch_size().begin(),
      dynamic.preferred_batch_size().end());
  options.policy.max_queue_delay =
      absl::Microseconds(dynamic.max_queue_delay_microseconds());
  // Adaptive unless the model asks for Triton's fixed delay.
  auto mode = config.parameters().find(std::string(kQueueDelayParameter));
  options.policy.adaptive_delay =
      mode == config.parameters().end() ||
      mode->second.string_value() != "fixed";
  const auto& queue = dynamic.default_queue_policy();
  options.max_queue_size = queue.max_queue_size();
  options.queue_timeout =
      absl::Microseconds(queue.default_timeout_microseconds());
  return options;
}

}  // namespace inferd
