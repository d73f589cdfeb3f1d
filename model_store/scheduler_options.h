#ifndef INFERD_MODEL_STORE_SCHEDULER_OPTIONS_H_
#define INFERD_MODEL_STORE_SCHEDULER_OPTIONS_H_

#include "absl/strings/string_view.h"
#include "batching/batch_scheduler.h"
#include "proto/model_config.pb.h"

namespace inferd {

// The model parameter choosing how dynamic batching waits: "adaptive" (the
// default: only while waiting pays, at most max_queue_delay_microseconds)
// or "fixed" (Triton's: a batch that can grow waits the whole delay).
inline constexpr absl::string_view kQueueDelayParameter = "INFERD_QUEUE_DELAY";

// The batching options a validated config asks for: max_batch_size,
// dynamic_batching (preferred sizes, queue delay and its mode, priority
// levels and queue policies) and one worker per instance. `display_name`
// names the scheduler in messages. REQUIRES: `config` passed
// ValidateModelConfig (its priority fields are within batching's bounds).
batching::BatchSchedulerOptions SchedulerOptionsFromConfig(
    const inference::ModelConfig& config, absl::string_view display_name);

}  // namespace inferd

#endif  // INFERD_MODEL_STORE_SCHEDULER_OPTIONS_H_
