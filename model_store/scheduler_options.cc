#include "model_store/scheduler_options.h"

#include <algorithm>
#include <string>

namespace inferd {
namespace {

batching::QueuePolicy QueuePolicyFromConfig(
    const inference::ModelQueuePolicy& policy) {
  batching::QueuePolicy out;
  out.max_queue_size = policy.max_queue_size();
  out.timeout = absl::Microseconds(policy.default_timeout_microseconds());
  out.allow_timeout_override = policy.allow_timeout_override();
  out.timeout_action =
      policy.timeout_action() == inference::ModelQueuePolicy::DELAY
          ? batching::TimeoutAction::kDelay
          : batching::TimeoutAction::kReject;
  return out;
}

}  // namespace

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
  options.policy.adaptive_delay = mode == config.parameters().end() ||
                                  mode->second.string_value() != "fixed";
  batching::QueueOptions& queue = options.queue;
  queue.priority_levels = static_cast<int>(dynamic.priority_levels());
  queue.default_priority_level =
      static_cast<int>(dynamic.default_priority_level());
  queue.default_policy = QueuePolicyFromConfig(dynamic.default_queue_policy());
  for (const auto& [level, policy] : dynamic.priority_queue_policy()) {
    queue.level_policies[static_cast<int>(level)] =
        QueuePolicyFromConfig(policy);
  }
  return options;
}

}  // namespace inferd
