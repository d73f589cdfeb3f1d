// inferd-inprocess-limit: "the limit" of the side-by-side benchmark. Loads one
// model directory with inferd's own TorchModelLoader (same freezing, same
// c10::InferenceMode, same zero-copy inputs) and calls Model::Execute in a
// closed loop in this process: no network, no serialisation, no queue. What
// it measures is the best any server could do with the model on this machine.
//
//   inferd-inprocess-limit --model-dir=/tmp/models/mlp --duration=5
//       --csv=bench/results/limit-mlp.csv
//
// Exit codes: 0 done; 1 the model failed to load or to run, or the CSV could
// not be written; 2 usage errors (bad flags, a model this tool cannot feed).

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "bench/limit_model.h"
#include "common/flags_util.h"
#include "model_store/model.h"
#include "model_store/model_config.h"
#include "model_store/backends/torch_loader.h"
#include "tools/bench_flags.h"
#include "tools/bench_stats.h"

ABSL_FLAG(std::string, model_dir, "",
          "Model directory (Triton layout: config.pbtxt and N/model.pt); the "
          "highest version is used. Required.");
ABSL_FLAG(std::vector<std::string>, batch_sizes,
          std::vector<std::string>({"1", "2", "4", "8", "16", "32", "64",
                                    "128"}),
          "Rows per forward pass, one measurement each; sizes above the "
          "config's max_batch_size are skipped.");
ABSL_FLAG(double, duration, 5, "Measured seconds per batch size (> 0).");
ABSL_FLAG(double, warmup, 1,
          "Unmeasured seconds of calls before each batch size (>= 0).");
ABSL_FLAG(int, threads, 1,
          "Calling threads (>= 1). Thread i uses execution instance i mod "
          "instance_count; threads sharing an instance take turns on it.");
ABSL_FLAG(int, intra_op_threads, 1,
          "LibTorch intra-op threads, as inferd's flag of the same name (0: "
          "LibTorch's default). A model's INTRA_OP_THREAD_COUNT overrides it.");
ABSL_FLAG(std::string, csv, "",
          "Also write model,batch,calls_per_s,infer_per_s,p50_ms,p99_ms here.");

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

// The flags, checked.
struct Options {
  std::string model_dir;
  std::vector<int64_t> batch_sizes;
  Clock::duration duration{};
  Clock::duration warmup{};
  int threads = 1;
  int intra_op_threads = 1;
  std::string csv;
};

// One batch size's result.
struct Level {
  int64_t batch = 0;
  double calls_per_s = 0;
  double infer_per_s = 0;  // rows per second
  double p50_ms = 0;       // per call, nearest rank
  double p99_ms = 0;
};

// What one calling thread observed in the measured window.
struct ThreadSamples {
  std::vector<double> latency_ms;
  Clock::time_point first_start = Clock::time_point::max();
  Clock::time_point last_end = Clock::time_point::min();
  absl::Status status;
};

void PrintError(absl::string_view message) {
  std::fprintf(stderr, "%.*s\n", static_cast<int>(message.size()),
               message.data());
}

Clock::duration Seconds(double seconds) {
  return std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(seconds));
}

absl::StatusOr<Options> OptionsFromFlags() {
  Options options;
  options.model_dir = absl::GetFlag(FLAGS_model_dir);
  // "DIR/" names the same model as "DIR".
  while (options.model_dir.size() > 1 && options.model_dir.back() == '/') {
    options.model_dir.pop_back();
  }
  if (options.model_dir.empty()) {
    return absl::InvalidArgumentError("--model-dir=DIR is required");
  }
  for (const std::string& value : absl::GetFlag(FLAGS_batch_sizes)) {
    int64_t size = 0;
    if (!absl::SimpleAtoi(value, &size) || size < 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--batch-sizes: \"", value, "\" is not a positive integer"));
    }
    options.batch_sizes.push_back(size);
  }
  if (options.batch_sizes.empty()) {
    return absl::InvalidArgumentError("--batch-sizes: no sizes given");
  }
  const double duration = absl::GetFlag(FLAGS_duration);
  const double warmup = absl::GetFlag(FLAGS_warmup);
  if (!(duration > 0) || !(warmup >= 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--duration must be > 0 and --warmup >= 0 seconds; got ",
                     duration, " and ", warmup));
  }
  options.duration = Seconds(duration);
  options.warmup = Seconds(warmup);
  options.threads = absl::GetFlag(FLAGS_threads);
  options.intra_op_threads = absl::GetFlag(FLAGS_intra_op_threads);
  if (options.threads < 1 || options.intra_op_threads < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--threads must be >= 1 and --intra-op-threads >= 0; got ",
                     options.threads, " and ", options.intra_op_threads));
  }
  options.csv = absl::GetFlag(FLAGS_csv);
  return options;
}

// Calls `instance` until `until`, recording the calls that start at or after
// `measure_from`. `instance_mu` serialises threads that share the instance.
void CallLoop(inferd::Model* model, int instance, absl::Mutex* instance_mu,
              const std::vector<inferd::Tensor>& inputs,
              Clock::time_point measure_from, Clock::time_point until,
              ThreadSamples* samples) {
  samples->latency_ms.reserve(1 << 16);
  for (;;) {
    const Clock::time_point start = Clock::now();
    if (start >= until) {
      return;
    }
    absl::StatusOr<std::vector<inferd::Tensor>> outputs;
    {
      absl::MutexLock lock(instance_mu);
      outputs = model->Execute(instance, inputs);
    }
    const Clock::time_point end = Clock::now();
    if (!outputs.ok()) {
      samples->status = outputs.status();
      return;
    }
    if (start < measure_from) {
      continue;
    }
    samples->latency_ms.push_back(
        std::chrono::duration<double, std::milli>(end - start).count());
    samples->first_start = std::min(samples->first_start, start);
    samples->last_end = end;
  }
}

// Runs one batch size: warm-up, then the measured window, from
// `options.threads` threads. Internal when a call fails.
absl::StatusOr<Level> RunLevel(inferd::Model* model,
                               const std::vector<inferd::Tensor>& inputs,
                               int64_t rows, const Options& options) {
  const int instances = std::max(1, model->instance_count());
  std::vector<absl::Mutex> instance_mu(instances);
  std::vector<ThreadSamples> samples(options.threads);
  const Clock::time_point measure_from = Clock::now() + options.warmup;
  const Clock::time_point until = measure_from + options.duration;
  {
    std::vector<std::thread> threads;
    threads.reserve(options.threads);
    for (int t = 0; t < options.threads; ++t) {
      threads.emplace_back(CallLoop, model, t % instances,
                           &instance_mu[t % instances], std::cref(inputs),
                           measure_from, until, &samples[t]);
    }
    for (std::thread& thread : threads) {
      thread.join();
    }
  }
  std::vector<double> latency_ms;
  Clock::time_point first = Clock::time_point::max();
  Clock::time_point last = Clock::time_point::min();
  for (ThreadSamples& s : samples) {
    if (!s.status.ok()) {
      return s.status;
    }
    latency_ms.insert(latency_ms.end(), s.latency_ms.begin(),
                      s.latency_ms.end());
    first = std::min(first, s.first_start);
    last = std::max(last, s.last_end);
  }
  Level level;
  level.batch = rows;
  if (latency_ms.empty()) {
    return level;
  }
  // From the first measured call's start to the last one's end: calls that
  // straddle the window's edges neither count nor stretch it.
  const double seconds = std::chrono::duration<double>(last - first).count();
  std::sort(latency_ms.begin(), latency_ms.end());
  level.calls_per_s = static_cast<double>(latency_ms.size()) / seconds;
  level.infer_per_s = level.calls_per_s * static_cast<double>(rows);
  level.p50_ms = inferd::bench::Percentile(latency_ms, 0.50);
  level.p99_ms = inferd::bench::Percentile(latency_ms, 0.99);
  return level;
}

void PrintTable(const std::string& model, const std::vector<Level>& levels) {
  std::printf("| model | batch | calls/s | infer/s | p50 ms | p99 ms |\n");
  std::printf("|---|---:|---:|---:|---:|---:|\n");
  for (const Level& l : levels) {
    std::printf("| %s | %lld | %.1f | %.1f | %.3f | %.3f |\n", model.c_str(),
                static_cast<long long>(l.batch), l.calls_per_s, l.infer_per_s,
                l.p50_ms, l.p99_ms);
  }
}

std::string CsvText(const std::string& model,
                    const std::vector<Level>& levels) {
  std::string text = "model,batch,calls_per_s,infer_per_s,p50_ms,p99_ms\n";
  for (const Level& l : levels) {
    absl::StrAppendFormat(&text, "%s,%d,%.1f,%.1f,%.3f,%.3f\n", model, l.batch,
                          l.calls_per_s, l.infer_per_s, l.p50_ms, l.p99_ms);
  }
  return text;
}

// Measures each of `sizes` in turn on fresh random inputs.
absl::StatusOr<std::vector<Level>> MeasureAll(
    inferd::Model* model, const inference::ModelConfig& config,
    const std::vector<int64_t>& sizes, const Options& options) {
  std::mt19937 random(0);  // the same inputs on every run
  std::vector<Level> levels;
  for (int64_t rows : sizes) {
    const std::vector<inferd::Tensor> inputs =
        inferd::bench::MakeInputs(config, rows, &random);
    absl::StatusOr<Level> level = RunLevel(model, inputs, rows, options);
    if (!level.ok()) {
      return absl::Status(
          level.status().code(),
          absl::StrCat("batch ", rows, ": ", level.status().message()));
    }
    levels.push_back(*level);
  }
  return levels;
}

// Loads the model and measures every batch size. Returns the exit code.
int Run(const Options& options) {
  absl::StatusOr<inferd::bench::LimitModelDir> dir =
      inferd::bench::ReadModelDir(options.model_dir);
  if (!dir.ok()) {
    std::fprintf(stderr, "%s\n", dir.status().ToString().c_str());
    return kExitFailed;
  }
  const std::string& version_dir = dir->version_dir;
  const inference::ModelConfig& config = dir->parsed.config;
  if (absl::Status feedable = inferd::bench::CheckFeedable(config);
      !feedable.ok()) {
    std::fprintf(stderr, "%s\n", feedable.ToString().c_str());
    return kExitUsage;
  }
  const std::vector<int64_t> sizes =
      inferd::bench::UsableBatchSizes(config, options.batch_sizes);
  if (sizes.empty()) {
    std::fprintf(stderr, "no --batch-sizes within max_batch_size %d\n",
                 config.max_batch_size());
    return kExitUsage;
  }
  std::ofstream csv;
  if (!options.csv.empty()) {
    csv.open(options.csv);  // now, so a bad path fails before the run
    if (!csv) {
      std::fprintf(stderr, "--csv: cannot write %s\n", options.csv.c_str());
      return kExitUsage;
    }
  }

  inferd::ConfigureTorchThreads(options.intra_op_threads, 1);
  inferd::TorchModelLoader loader;
  absl::StatusOr<std::unique_ptr<inferd::Model>> model =
      loader.Load(config, version_dir);
  if (!model.ok()) {
    std::fprintf(stderr, "%s: failed to load: %s\n", version_dir.c_str(),
                 model.status().ToString().c_str());
    return kExitFailed;
  }
  std::fprintf(stderr, "%s: %d instance(s), %d calling thread(s)\n",
               version_dir.c_str(), (*model)->instance_count(),
               options.threads);
  absl::StatusOr<std::vector<Level>> levels =
      MeasureAll(model->get(), config, sizes, options);
  if (!levels.ok()) {
    std::fprintf(stderr, "%s\n", levels.status().ToString().c_str());
    return kExitFailed;
  }
  PrintTable(config.name(), *levels);
  if (csv.is_open()) {
    csv << CsvText(config.name(), *levels);
    csv.close();
    if (!csv) {
      std::fprintf(stderr, "--csv: writing %s failed\n", options.csv.c_str());
      return kExitFailed;
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "inferd-inprocess-limit --model-dir=DIR [--batch-sizes=1,2,...,128] "
      "[--duration=5] [--warmup=1] [--threads=1] [--intra-op-threads=1] "
      "[--csv=PATH]");
  inferd::bench::ListHelpFlagsFrom("bench/inprocess_limit");
  if (absl::Status status = inferd::bench::ParseFlagsOrUsageError(argc, argv);
      !status.ok()) {
    PrintError(status.message());
    return kExitUsage;
  }
  absl::StatusOr<Options> options = OptionsFromFlags();
  if (!options.ok()) {
    PrintError(options.status().message());
    return kExitUsage;
  }
  return Run(*options);
}
