// inferd-bench: a closed-loop load generator for a running inferd (or any
// KServe v2 / Triton gRPC server). At concurrency C exactly C ModelInfer
// requests are outstanding at all times; after a warm-up it measures
// throughput, latency percentiles and errors for each concurrency level.
// With --streaming the requests travel on ModelStreamInfer streams instead
// (--streams of them), the C outstanding requests split across the streams.
//
//   build/bin/inferd-bench --model=mlp --concurrency=1,8,64 --csv=mlp.csv
//   build/bin/inferd-bench --model=mlp --concurrency=64 --streaming --streams=4
//
// Exit status: 0 when every level ran (even if requests failed; they are
// counted), 1 when the server cannot be reached or cannot serve the model (or
// an output file cannot be written), 2 on usage errors.

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "common/flags_util.h"
#include "proto/inference.grpc.pb.h"
#include "tools/bench_flags.h"
#include "tools/bench_http.h"
#include "tools/bench_load.h"
#include "tools/bench_report.h"
#include "tools/bench_request.h"
#include "tools/bench_stats.h"

ABSL_FLAG(std::string, server, "127.0.0.1:8001", "inferd gRPC address.");
ABSL_FLAG(std::string, model, "", "Model to benchmark. Required.");
ABSL_FLAG(std::string, model_name, "",
          "Same as --model (perf_analyzer's spelling).");
ABSL_FLAG(std::string, concurrency, "1",
          "Comma-separated concurrency levels, e.g. 1,2,4,8; each is the "
          "number of requests kept outstanding.");
ABSL_FLAG(double, duration, 10, "Measured seconds per level.");
ABSL_FLAG(double, warmup, 2,
          "Unrecorded seconds before each level's measurement; 0: none.");
ABSL_FLAG(int64_t, rows, 1,
          "Rows per request: replaces the leading -1 of every input shape.");
ABSL_FLAG(std::string, csv, "", "Also write the results as CSV to this path.");
ABSL_FLAG(std::string, json, "",
          "Also write the results as JSON to this path.");
ABSL_FLAG(std::string, label, "",
          "System under test, shown in the 'system' column (default: the "
          "model name).");
ABSL_FLAG(std::string, http, "",
          "HOST:PORT of inferd's HTTP/REST server: the load goes there "
          "(metadata still comes over gRPC from --server); empty: gRPC.");
ABSL_FLAG(bool, http_binary, false,
          "With --http: tensors as Triton's binary data extension both ways "
          "instead of JSON.");
ABSL_FLAG(int, threads, 1,
          "Client threads, each with its own connection and completion "
          "queue; the concurrency is split across them.");
ABSL_FLAG(bool, streaming, false,
          "Send the requests on ModelStreamInfer streams instead of "
          "ModelInfer calls; an answer with an error_message counts as "
          "error STREAM_ERROR.");
ABSL_FLAG(int, streams, 1,
          "With --streaming: streams per level (at most the concurrency), "
          "spread over the client threads; each keeps its share of the "
          "concurrency outstanding.");

namespace inferd::bench {
namespace {

constexpr int kExitServer = 1;
constexpr int kExitUsage = 2;
constexpr uint32_t kSeed = 20240601;
constexpr absl::Duration kSetupTimeout = absl::Seconds(10);

void PrintError(const absl::Status& status) {
  std::fprintf(stderr, "inferd-bench: %.*s\n",
               static_cast<int>(status.message().size()),
               status.message().data());
}

// Validated command line.
struct Config {
  std::string server;
  std::string model;
  std::string label;
  std::vector<int> concurrency;
  absl::Duration duration;
  absl::Duration warmup;
  int64_t rows = 1;
  int threads = 1;
  int streams = 0;  // 0: ModelInfer calls
  std::string csv;
  std::string json;
  std::string http_host;  // empty: gRPC
  int http_port = 0;
  bool http_binary = false;
};

absl::StatusOr<std::vector<int>> ParseConcurrency(const std::string& text) {
  std::vector<int> levels;
  for (absl::string_view field : absl::StrSplit(text, ',')) {
    int level = 0;
    if (!absl::SimpleAtoi(field, &level) || level < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("--concurrency=", text, ": \"", field,
                       "\" is not a positive integer; expected e.g. 1,4,16"));
    }
    levels.push_back(level);
  }
  return levels;
}

absl::StatusOr<Config> ConfigFromFlags() {
  Config config;
  config.server = absl::GetFlag(FLAGS_server);
  config.model = absl::GetFlag(FLAGS_model);
  const std::string alias = absl::GetFlag(FLAGS_model_name);
  if (!config.model.empty() && !alias.empty() && alias != config.model) {
    return absl::InvalidArgumentError(absl::StrCat("--model=", config.model,
                                                   " and --model_name=", alias,
                                                   " disagree; give one"));
  }
  if (config.model.empty()) {
    config.model = alias;
  }
  if (config.model.empty()) {
    return absl::InvalidArgumentError("--model=NAME is required");
  }
  config.label = absl::GetFlag(FLAGS_label);
  if (config.label.empty()) {
    config.label = config.model;
  }
  absl::StatusOr<std::vector<int>> levels =
      ParseConcurrency(absl::GetFlag(FLAGS_concurrency));
  if (!levels.ok()) {
    return levels.status();
  }
  config.concurrency = *std::move(levels);
  const double duration = absl::GetFlag(FLAGS_duration);
  const double warmup = absl::GetFlag(FLAGS_warmup);
  if (!(duration > 0) || !(warmup >= 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--duration=", duration, " --warmup=", warmup,
                     ": expected a duration > 0 and a warm-up >= 0 (seconds)"));
  }
  config.duration = absl::Seconds(duration);
  config.warmup = absl::Seconds(warmup);
  config.rows = absl::GetFlag(FLAGS_rows);
  config.threads = absl::GetFlag(FLAGS_threads);
  if (config.rows < 1 || config.threads < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--rows=", config.rows, " --threads=", config.threads,
                     ": both must be >= 1"));
  }
  const int streams = absl::GetFlag(FLAGS_streams);
  if (streams < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--streams=", streams, ": expected >= 1"));
  }
  config.streams = absl::GetFlag(FLAGS_streaming) ? streams : 0;
  config.csv = absl::GetFlag(FLAGS_csv);
  config.json = absl::GetFlag(FLAGS_json);
  const std::string http = absl::GetFlag(FLAGS_http);
  if (!http.empty()) {
    const size_t colon = http.rfind(':');
    if (colon == std::string::npos ||
        !absl::SimpleAtoi(http.substr(colon + 1), &config.http_port)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--http=", http, ": expected HOST:PORT"));
    }
    config.http_host = http.substr(0, colon);
  }
  config.http_binary = absl::GetFlag(FLAGS_http_binary);
  return config;
}

// One channel per client thread. The local subchannel pool gives each its
// own TCP connection instead of gRPC's shared one.
std::vector<std::shared_ptr<grpc::Channel>> MakeChannels(
    const std::string& server, int count) {
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < count; ++i) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetMaxReceiveMessageSize(-1);
    args.SetMaxSendMessageSize(-1);
    channels.push_back(grpc::CreateCustomChannel(
        server, grpc::InsecureChannelCredentials(), args));
  }
  return channels;
}

// Asks the server for the model's signature. Fails with Unavailable when the
// server cannot be reached, NotFound for a model it does not know.
absl::StatusOr<inference::ModelMetadataResponse> FetchMetadata(
    const std::shared_ptr<grpc::Channel>& channel, const Config& config) {
  auto stub = inference::GRPCInferenceService::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + kSetupTimeout));
  inference::ModelMetadataRequest request;
  request.set_name(config.model);
  inference::ModelMetadataResponse response;
  const grpc::Status status = stub->ModelMetadata(&context, request, &response);
  if (status.ok()) {
    return response;
  }
  const std::string detail = absl::StrCat(StatusCodeName(status.error_code()),
                                          ": ", status.error_message());
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return absl::UnavailableError(absl::StrCat(
          "cannot reach inferd at ", config.server, " (", detail, ")"));
    case grpc::StatusCode::NOT_FOUND:
      return absl::NotFoundError(absl::StrCat(
          "model \"", config.model, "\" is unknown to the server at ",
          config.server, " (", detail, ")"));
    default:
      return absl::InternalError(absl::StrCat("ModelMetadata(\"", config.model,
                                              "\") failed: ", detail));
  }
}

// Connects every channel, so no level's first requests pay for it.
absl::Status ConnectAll(
    const std::vector<std::shared_ptr<grpc::Channel>>& channels,
    const std::string& server) {
  const auto deadline = absl::ToChronoTime(absl::Now() + kSetupTimeout);
  for (const auto& channel : channels) {
    if (!channel->WaitForConnected(deadline)) {
      return absl::UnavailableError(
          absl::StrCat("cannot connect to inferd at ", server));
    }
  }
  return absl::OkStatus();
}

std::string DescribeInputs(const inference::ModelInferRequest& request) {
  std::vector<std::string> inputs;
  for (const auto& input : request.inputs()) {
    inputs.push_back(absl::StrCat(input.name(), " ", input.datatype(), " [",
                                  absl::StrJoin(input.shape(), ","), "]"));
  }
  return absl::StrJoin(inputs, ", ");
}

void ReportErrors(int concurrency, const Samples& samples) {
  for (const auto& [code, count] : samples.errors) {
    std::fprintf(stderr, "inferd-bench: concurrency %d: %lld x %s, first: %s\n",
                 concurrency, static_cast<long long>(count), code.c_str(),
                 samples.first_error.at(code).c_str());
  }
}

// An output file opened before the run, so a bad path fails in seconds
// rather than after the sweep.
struct OutputFile {
  std::string path;
  std::ofstream stream;
};

absl::StatusOr<std::unique_ptr<OutputFile>> OpenOutput(
    const std::string& path) {
  if (path.empty()) {
    return nullptr;
  }
  auto file = std::make_unique<OutputFile>();
  file->path = path;
  file->stream.open(path, std::ios::out | std::ios::trunc);
  if (!file->stream) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot open ", path, " for writing"));
  }
  return file;
}

bool WriteOutput(OutputFile* file, const std::string& contents) {
  if (file == nullptr) {
    return true;
  }
  file->stream << contents;
  file->stream.close();
  if (file->stream.fail()) {
    std::fprintf(stderr, "inferd-bench: writing %s failed\n",
                 file->path.c_str());
    return false;
  }
  return true;
}

std::vector<LevelResult> RunSweep(const Config& config, Driver* driver,
                                  int64_t rows) {
  std::vector<LevelResult> results;
  std::fputs(TableHeader().c_str(), stdout);
  for (const int concurrency : config.concurrency) {
    LoadOptions options;
    options.concurrency = concurrency;
    options.warmup = config.warmup;
    options.duration = config.duration;
    options.streams = config.streams;
    Samples samples = driver->RunLevel(options);
    ReportErrors(concurrency, samples);
    const LevelKey key{config.label, config.model, concurrency, rows};
    results.push_back(Summarize(key, absl::ToDoubleSeconds(config.duration),
                                std::move(samples)));
    std::fputs(TableRow(results.back()).c_str(), stdout);
    std::fflush(stdout);
  }
  return results;
}

// Fetches the model's signature, builds the request and connects every
// channel. Unavailable: the server is unreachable; NotFound: unknown model;
// other codes: the model cannot be benchmarked.
absl::StatusOr<BenchRequest> Prepare(
    const Config& config,
    const std::vector<std::shared_ptr<grpc::Channel>>& channels) {
  absl::StatusOr<inference::ModelMetadataResponse> metadata =
      FetchMetadata(channels.front(), config);
  if (!metadata.ok()) {
    return metadata.status();
  }
  absl::StatusOr<BenchRequest> bench =
      BuildBenchRequest(*metadata, config.rows, kSeed);
  if (!bench.ok()) {
    return absl::Status(bench.status().code(),
                        absl::StrCat("model \"", config.model,
                                     "\": ", bench.status().message()));
  }
  if (absl::Status status = ConnectAll(channels, config.server); !status.ok()) {
    return status;
  }
  if (config.rows > 1 && bench->rows_per_request == 1) {
    std::fprintf(stderr,
                 "inferd-bench: warning: model \"%s\" has no batch "
                 "dimension; --rows=%lld ignored\n",
                 config.model.c_str(), static_cast<long long>(config.rows));
  }
  const std::string transport =
      config.streams > 0
          ? absl::StrCat("ModelStreamInfer on ", config.streams, " stream(s)")
          : std::string("ModelInfer calls");
  std::fprintf(stderr,
               "inferd-bench: %s at %s, inputs %s; warm-up %s, %s per level, "
               "%d client thread(s), %s\n",
               config.model.c_str(), config.server.c_str(),
               DescribeInputs(bench->wire()).c_str(),
               absl::FormatDuration(config.warmup).c_str(),
               absl::FormatDuration(config.duration).c_str(), config.threads,
               transport.c_str());
  return bench;
}

int Run(const Config& config) {
  absl::StatusOr<std::unique_ptr<OutputFile>> csv = OpenOutput(config.csv);
  absl::StatusOr<std::unique_ptr<OutputFile>> json = OpenOutput(config.json);
  for (const absl::Status& status : {csv.status(), json.status()}) {
    if (!status.ok()) {
      PrintError(status);
      return kExitUsage;
    }
  }
  const auto channels = MakeChannels(config.server, config.threads);
  const absl::StatusOr<BenchRequest> bench = Prepare(config, channels);
  if (!bench.ok()) {
    PrintError(bench.status());
    return kExitServer;
  }
  std::unique_ptr<Driver> driver;
  if (config.http_host.empty()) {
    driver = std::make_unique<LoadDriver>(channels, &bench->wire());
  } else {
    driver = std::make_unique<HttpLoadDriver>(
        config.http_host, config.http_port, bench->wire(), config.http_binary);
  }
  const std::vector<LevelResult> results =
      RunSweep(config, driver.get(), bench->rows_per_request);
  const bool csv_written = WriteOutput(csv->get(), FormatCsv(results));
  const bool json_written = WriteOutput(json->get(), FormatJson(results));
  return csv_written && json_written ? 0 : kExitServer;
}

}  // namespace
}  // namespace inferd::bench

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "inferd-bench --model=NAME [--server=127.0.0.1:8001] "
      "[--concurrency=1,2,4] [--duration=10] [--warmup=2] [--rows=1] "
      "[--threads=1] [--streaming [--streams=1]] [--label=NAME] [--csv=PATH] "
      "[--json=PATH]");
  inferd::bench::ListHelpFlagsFrom("tools/inferd_bench");
  if (absl::Status status = inferd::bench::ParseFlagsOrUsageError(argc, argv);
      !status.ok()) {
    inferd::bench::PrintError(status);
    return inferd::bench::kExitUsage;
  }
  absl::StatusOr<inferd::bench::Config> config =
      inferd::bench::ConfigFromFlags();
  if (!config.ok()) {
    inferd::bench::PrintError(config.status());
    return inferd::bench::kExitUsage;
  }
  return inferd::bench::Run(*config);
}
