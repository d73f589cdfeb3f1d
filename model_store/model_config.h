#ifndef INFERD_MODEL_STORE_MODEL_CONFIG_H_
#define INFERD_MODEL_STORE_MODEL_CONFIG_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "batching/queue_policy.h"
#include "proto/model_config.pb.h"

namespace inferd {

// Limits on what a config.pbtxt may ask for. Every allocation a config drives
// (parsing, warm-up tensors, the .pt2 batch probe, worker threads) is bounded
// by them and checked before it happens; a config past one is refused with a
// message naming the field and the limit ("...; at most N allowed").

// Largest config.pbtxt: 1 MiB. Real configs are a few KB (one with a hundred
// inputs stays under 20 KB); the limit only keeps a stray or hostile file from
// being read and parsed whole. ReadModelConfig reads no more than this.
inline constexpr size_t kMaxConfigBytes = size_t{1} << 20;

// Deepest nesting of blocks in config.pbtxt: { } and < > (messages) and [ ]
// (lists), counted outside quoted strings and # comments. ModelConfig's
// deepest fields need 5 (optimization { execution_accelerators {
// gpu_execution_accelerator [ { parameters { ... } } ] } }). The limit
// is checked before protobuf sees the text, and is also the parser's
// recursion limit: protobuf's text parser recurses once per level, with no
// limit by default, and an unknown field nested 20,000 deep (about 120 KB)
// overflowed the stack inside it. The check does not rely on how a given
// libprotobuf counts the levels of fields it skips.
inline constexpr int kMaxConfigNesting = 32;

// Largest max_batch_size: 2^20 rows. The byte limit below bounds what a batch
// of that many rows may hold.
inline constexpr int64_t kMaxBatchSize = int64_t{1} << 20;

// Largest dim of an input or output (`dims`, and a model_warmup input's
// `dims`): 2^30, the most elements a tensor within kMaxTensorBytes can have.
inline constexpr int64_t kMaxDim = int64_t{1} << 30;

// Largest input or output tensor a config may declare: 1 GiB for a full batch,
// i.e. one row (its dims multiplied, a variable dim counted as 1) times
// max(max_batch_size, 1) rows times the element size. Warm-up and the .pt2
// batch probe allocate inputs of exactly that size; e.g. a 1024x1024x3 FP32
// image (12 MiB a row) allows max_batch_size 85. The arithmetic is checked: a
// product that overflows int64 is refused, never wrapped.
inline constexpr int64_t kMaxTensorBytes = int64_t{1} << 30;

// Largest sum of all inputs of one full batch (max(max_batch_size, 1) rows):
// 4 GiB, what warm-up or the .pt2 probe allocate at once.
inline constexpr int64_t kMaxBatchInputBytes = int64_t{4} << 30;

// Most execution instances: at most 64 per instance_group (`count`) and in
// all, counting the `count` of a KIND_GPU (or KIND_AUTO) group once per GPU
// it lists in `gpus`. Each instance is a copy of the model and a worker
// thread. (A group without `gpus` counts once here; for KIND_GPU the loader
// multiplies it by the devices it finds.)
inline constexpr int kMaxInstances = 64;

// Most model_warmup entries (64), and most runs of one entry (`count`, 1000).
// A model_warmup input's own `dims` are -1 or 1..kMaxDim. When the warm-up
// runs, each entry's `batch_size` must be at most max_batch_size, and the
// tensors it makes (batch_size rows of those dims) are held to
// kMaxTensorBytes and kMaxBatchInputBytes before they are allocated.
inline constexpr int kMaxWarmupEntries = 64;
inline constexpr uint32_t kMaxWarmupCount = 1000;

// Largest labels file (`label_filename`): 16 MiB, about a million class
// names. Each label is held in memory while the version serves. ReadLabels
// reads no more than this.
inline constexpr size_t kMaxLabelFileBytes = size_t{16} << 20;

// Largest INTRA_OP_THREAD_COUNT / INTER_OP_THREAD_COUNT parameter: 1024
// threads, more than the hardware threads of today's largest servers.
inline constexpr int64_t kMaxThreadCount = 1024;

// Most priority levels (dynamic_batching.priority_levels): 1024, the
// scheduler's bound (it keeps a counter and a policy per level); Triton
// configs use a handful. default_priority_level and the keys of
// priority_queue_policy must be levels (1..priority_levels; none without
// levels), and every queue policy's default_timeout_microseconds is at most
// 10^12 (11.5 days).
inline constexpr int kMaxPriorityLevels = batching::kMaxPriorityLevels;

struct ParsedConfig {
  inference::ModelConfig config;
  // Fields of Triton's schema (or typos) that inferd does not implement; they
  // are ignored, and the caller logs them.
  std::vector<std::string> ignored_fields;
};

// Parses config.pbtxt text (protobuf text format). InvalidArgument with the
// line and column of a syntax error; text over kMaxConfigBytes or nested
// deeper than kMaxConfigNesting is refused before protobuf parses it
// ("config.pbtxt: nested 20001 levels deep at line 1; at most 32 allowed").
absl::StatusOr<ParsedConfig> ParseModelConfig(absl::string_view text);

// Checks that `config` (of the model in directory `directory_name`) is
// complete and consistent and within the limits above, filling defaults
// (name, platform, instance count). InvalidArgument naming the offending
// field otherwise.
absl::Status ValidateModelConfig(absl::string_view directory_name,
                                 inference::ModelConfig* config);

// Parses and validates a model configuration given as JSON (protobuf's JSON
// mapping of ModelConfig, as Triton's RepositoryModelLoad parameter
// "config" carries it) for the model in directory `directory_name`, with
// config.pbtxt's size and nesting limits. Unknown fields are refused.
// InvalidArgument "parameters.config: ..." naming what was wrong.
absl::StatusOr<inference::ModelConfig> ParseModelConfigJson(
    absl::string_view json, absl::string_view directory_name);

// Reads a config.pbtxt file (at most kMaxConfigBytes of it), parses and
// validates it.
absl::StatusOr<ParsedConfig> ReadModelConfig(const std::string& path,
                                             absl::string_view directory_name);

// Reads a labels file of at most kMaxLabelFileBytes (see ReadFileAtMost):
// one label per line, trailing '\r' removed.
absl::StatusOr<std::vector<std::string>> ReadLabels(const std::string& path);

// Reads a whole file. NotFound when it does not exist.
absl::StatusOr<std::string> ReadFile(const std::string& path);

// Reads a whole file of at most `max_bytes`, never more: a larger file (by
// its size, or by what reading it yields, for a pipe or a device) is
// InvalidArgument "PATH: N bytes; at most MAX allowed". NotFound as ReadFile.
absl::StatusOr<std::string> ReadFileAtMost(const std::string& path,
                                           size_t max_bytes);

}  // namespace inferd

#endif  // INFERD_MODEL_STORE_MODEL_CONFIG_H_
