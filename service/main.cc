// inferd: serves the TorchScript models of a model repository over the
// KServe v2 / Open Inference Protocol gRPC API.

#include <algorithm>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "batching/worker_pool.h"
#include "common/flags_util.h"
#include "common/io_class_governor.h"
#include "common/logging.h"
#include "common/memory_trim.h"
#include "common/stop_signals.h"
#include "common/thread_scheduling.h"
#include "common/usable_cpus.h"
#include "metrics/exporter.h"
#include "metrics/metrics.h"
#include "model_store/backends/torch_loader.h"
#include "model_store/model_repository.h"
#include "service/http_api.h"
#include "service/https_certificates.h"
#include "service/server.h"

ABSL_FLAG(std::string, model_repository, "",
          "Model repository directory (Triton layout). Required.");
ABSL_FLAG(std::string, host, "127.0.0.1", "Address the server binds.");
ABSL_FLAG(int, grpc_port, 8001, "gRPC port; 0 picks a free port.");
ABSL_FLAG(int, metrics_port, 8002,
          "Prometheus metrics on http://HOST:PORT/metrics; 0 picks a free "
          "port (printed in the log).");
ABSL_FLAG(bool, allow_metrics, true,
          "Serve Prometheus metrics (--allow-metrics=false turns them off).");
ABSL_FLAG(std::string, model_control_mode, "none",
          "none: load every model at start-up and never change; poll: also "
          "rescan the repository every --repository-poll-secs; explicit: load "
          "only --load-model models, then RepositoryModelLoad/Unload.");
ABSL_FLAG(int, repository_poll_secs, 15,
          "Poll mode: seconds between repository scans.");
ABSL_FLAG(std::vector<std::string>, load_model, {},
          "Explicit mode: models to load at start-up (repeatable or "
          "comma-separated; * for all).");
ABSL_FLAG(int, intra_op_threads, 1,
          "LibTorch intra-op threads (one operator split across threads). "
          "Default 1: on a small machine, workers (instance_group count) and "
          "gRPC need the cores, and more threads per operator oversubscribe "
          "them (see bench/README.md). 0 keeps LibTorch's default (one per "
          "core). A model's INTRA_OP_THREAD_COUNT parameter overrides it.");
ABSL_FLAG(std::string, batch_class_io_threads, "auto",
          "Scheduling class of gRPC's and other non-model threads. true: "
          "Linux's SCHED_BATCH, model workers in the default class, so that "
          "a request arriving mid-batch does not preempt the worker running "
          "the batch (+22-34% throughput on a busy core, bench/README.md); "
          "CPU shares unchanged, no privilege needed. But a SCHED_BATCH "
          "thread does not preempt other programs either: on CPUs another "
          "program keeps busy it costs 3.4-8x at concurrency 1. auto: "
          "SCHED_BATCH while other programs use under a tenth of a CPU of "
          "the process's CPUs, read every 0.5 s; the default class at once "
          "when they use more, SCHED_BATCH again after 2 s quiet. false: "
          "every thread in the default class.");
ABSL_FLAG(std::string, worker_pool, "shared",
          "shared: one pool of model workers per device, shared fairly by "
          "every model version (each still runs at most instance_group count "
          "batches at once); per-version: each version has one worker per "
          "instance (more models than cores oversubscribe the machine).");
ABSL_FLAG(int, worker_threads, 0,
          "Workers of the shared CPU pool; 0: the CPUs this process may use "
          "(its affinity mask and cgroup CPU quota).");
ABSL_FLAG(int, gpu_worker_threads, 4,
          "Workers of each GPU's shared pool (they launch work on CUDA "
          "streams and wait for it).");
ABSL_FLAG(bool, grpc_use_ssl, false,
          "Serve gRPC over TLS with --grpc-server-cert and --grpc-server-key.");
ABSL_FLAG(bool, grpc_use_ssl_mutual, false,
          "Mutual TLS (implies --grpc-use-ssl): clients must present a "
          "certificate signed by --grpc-root-cert.");
ABSL_FLAG(std::string, grpc_server_cert, "",
          "TLS: the server's certificate chain (PEM file).");
ABSL_FLAG(std::string, grpc_server_key, "",
          "TLS: the server's private key (PEM file).");
ABSL_FLAG(std::string, grpc_root_cert, "",
          "Mutual TLS: the CA certificate(s) that sign client certificates "
          "(PEM file).");
ABSL_FLAG(int, grpc_cert_refresh_secs, 60,
          "TLS: seconds between looks at the certificate files of all three "
          "servers (--grpc-server-cert, --grpc-server-key, --grpc-root-cert, "
          "--http-server-cert, --http-server-key, --metrics-server-cert, "
          "--metrics-server-key); new files that parse and match are served "
          "to new connections without a restart. 0: read them once, at "
          "start-up.");
// Read from argv by TakeRepeatedFlag(), not by Abseil, which would keep only
// the last occurrence; declared for --help.
ABSL_FLAG(std::string, grpc_restricted_protocol, "",
          "<protocol>[,<protocol>...]:<key>=<value> (repeatable): calls of "
          "these protocols (health, metadata, inference, shared-memory, "
          "model-config, model-repository, statistics, trace, logging) must "
          "carry header <key> with <value>, else PERMISSION_DENIED.");
ABSL_FLAG(std::string, http_restricted_api, "",
          "<api>[,<api>...]:<key>=<value> (repeatable): HTTP requests of "
          "these APIs (the groups of --grpc-restricted-protocol) must carry "
          "header <key> with <value>, else 403.");
ABSL_FLAG(int, grpc_max_message_bytes, 64 << 20,
          "Largest gRPC request or response in bytes; a larger one is "
          "refused with RESOURCE_EXHAUSTED.");
ABSL_FLAG(int, grpc_keepalive_time, 7200000,
          "Milliseconds between keepalive pings the server sends on an idle "
          "connection (GRPC_ARG_KEEPALIVE_TIME_MS).");
ABSL_FLAG(int, grpc_keepalive_timeout, 20000,
          "Milliseconds the server waits for a keepalive ping's answer before "
          "closing the connection (GRPC_ARG_KEEPALIVE_TIMEOUT_MS).");
ABSL_FLAG(bool, grpc_keepalive_permit_without_calls, false,
          "Allow keepalive pings on connections without calls "
          "(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS).");
ABSL_FLAG(int, grpc_http2_max_pings_without_data, 2,
          "Pings the server may send without data before it must send data; "
          "0: no limit (GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA).");
ABSL_FLAG(int, grpc_http2_min_recv_ping_interval_without_data, 300000,
          "Milliseconds a client must leave between pings when no data flows; "
          "faster pings are strikes "
          "(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS).");
ABSL_FLAG(int, grpc_http2_max_ping_strikes, 2,
          "Bad pings tolerated before the server closes the connection; 0: "
          "no limit (GRPC_ARG_HTTP2_MAX_PING_STRIKES).");
ABSL_FLAG(int, grpc_max_concurrent_streams, 1024,
          "Concurrent calls per client connection "
          "(GRPC_ARG_MAX_CONCURRENT_STREAMS); more wait for a free stream.");
ABSL_FLAG(int64_t, grpc_max_memory_bytes, int64_t{1} << 30,
          "Bytes gRPC may hold for all connections together (read buffers, "
          "calls, request messages not yet taken by the service); past it "
          "idle connections are closed and calls in flight cancelled with "
          "RESOURCE_EXHAUSTED; 0: no limit (a grpc::ResourceQuota).");
ABSL_FLAG(int, grpc_max_connection_age, 0,
          "Milliseconds after which a gRPC connection is asked to go away "
          "(a graceful GOAWAY: its calls finish, the client reconnects, "
          "possibly to another replica); 0: never "
          "(GRPC_ARG_MAX_CONNECTION_AGE_MS). With it, the drain waits for "
          "open connections to age out before the shutdown.");
ABSL_FLAG(int, grpc_max_connection_age_grace, 10000,
          "Milliseconds a connection asked away by its age keeps for its "
          "calls in flight before it is closed "
          "(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS).");
ABSL_FLAG(int, grpc_max_connection_idle, 0,
          "Milliseconds a gRPC connection may go without a call before it is "
          "asked away (GOAWAY) and closed, freeing its file and buffers; the "
          "client reconnects on its next call. 0: never "
          "(GRPC_ARG_MAX_CONNECTION_IDLE_MS).");
ABSL_FLAG(bool, grpc_http2_bdp_probe, false,
          "gRPC's bandwidth-delay-product probe (GRPC_ARG_HTTP2_BDP_PROBE): "
          "a PING whenever data arrives, to size flow-control windows. Off: "
          "behind nginx it made a call fail when the server closed an aged "
          "connection with such a PING unanswered; the stream window is "
          "then --grpc-http2-stream-window-bytes.");
ABSL_FLAG(int, grpc_http2_stream_window_bytes, 4 << 20,
          "HTTP/2 stream flow-control window in bytes when the BDP probe is "
          "off (GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES).");
ABSL_FLAG(int, memory_trim_secs, 10,
          "Seconds between returns of freed heap memory to the OS "
          "(malloc_trim); glibc otherwise keeps what large or many requests "
          "freed at the process's peak. 0: never.");
ABSL_FLAG(bool, strict_readiness, true,
          "Ready (health, ServerReady, /v2/health/ready) only while every "
          "model has a ready version (Triton's flag); false: ready once the "
          "start-up load is done, whatever the models' states.");
ABSL_FLAG(bool, allow_http, true,
          "Serve the v2 REST protocol over HTTP (--allow-http=false turns "
          "it off).");
ABSL_FLAG(int, http_port, 8000, "HTTP/REST port; 0 picks a free port.");
ABSL_FLAG(std::string, http_address, "",
          "Address the HTTP/REST server binds; empty: --host.");
ABSL_FLAG(int, http_thread_count, 2,
          "Threads that read HTTP requests and write answers. They never "
          "wait for a model (answers come from the model workers), so a few "
          "serve thousands of connections.");
ABSL_FLAG(int64_t, http_max_input_size, 64 << 20,
          "Largest HTTP request body in bytes; larger ones get 413 before "
          "they are read.");
ABSL_FLAG(int, http_max_connections, 1000,
          "Open HTTP connections at most (lowered to stay below the open-file "
          "limit); further clients wait in the listen backlog.");
ABSL_FLAG(int, http_idle_timeout_secs, 60,
          "An HTTP connection with no traffic this long is closed.");
ABSL_FLAG(std::string, http_server_cert, "",
          "PEM certificate: with --http-server-key, HTTP serves HTTPS only.");
ABSL_FLAG(std::string, http_server_key, "", "PEM private key for HTTPS.");
ABSL_FLAG(std::string, metrics_address, "",
          "Address the metrics endpoint binds; empty: --host.");
ABSL_FLAG(std::string, metrics_server_cert, "",
          "PEM certificate: with --metrics-server-key, metrics are served "
          "over HTTPS only.");
ABSL_FLAG(std::string, metrics_server_key, "",
          "PEM private key for the metrics endpoint's HTTPS.");
ABSL_FLAG(int, drain_notice_secs, 0,
          "After SIGTERM/SIGINT: seconds during which health and readiness "
          "answer NOT_SERVING while every call is still served, so that load "
          "balancers and Kubernetes endpoints stop sending; then the servers "
          "stop taking calls (gRPC sends GOAWAY).");
ABSL_FLAG(int, exit_timeout_secs, 30,
          "After the drain notice: seconds to finish the calls in flight "
          "before the rest are cancelled (Triton's flag).");
ABSL_FLAG(int, inter_op_threads, 1,
          "LibTorch inter-op threads (TorchScript fork/wait). Default 1; 0 "
          "keeps LibTorch's default.");

namespace {

// Removes every occurrence of --NAME=VALUE, --NAME VALUE (either spelling,
// '-' or '_', one or two leading dashes) from argv before Abseil parses it,
// and returns the values in order. Arguments after a bare "--" stay.
std::vector<std::string> TakeRepeatedFlag(int* argc, char** argv,
                                          const std::string& name) {
  std::vector<std::string> values;
  int kept = 1;
  bool flags_ended = false;
  for (int i = 1; i < *argc; ++i) {
    std::string arg = argv[i];
    if (!flags_ended && arg == "--") flags_ended = true;
    std::string flag = arg;
    if (!flags_ended && !flag.empty() && flag[0] == '-') {
      flag.erase(0, flag.rfind('-', 1) + 1);  // one or two dashes
      const size_t equals = flag.find('=');
      std::string flag_name = flag.substr(0, equals);
      std::replace(flag_name.begin(), flag_name.end(), '-', '_');
      if (flag_name == name) {
        if (equals != std::string::npos) {
          values.push_back(flag.substr(equals + 1));
        } else if (i + 1 < *argc) {
          values.push_back(argv[++i]);
        } else {
          values.push_back("");  // refused by the parser with a message
        }
        continue;
      }
    }
    argv[kept++] = argv[i];
  }
  *argc = kept;
  argv[kept] = nullptr;
  return values;
}

// The gRPC flags as ServerOptions; InvalidArgument for a bad value.
absl::StatusOr<inferd::ServerOptions> GrpcOptions(
    const std::vector<std::string>& restricted_protocols) {
  inferd::ServerOptions options;
  options.host = absl::GetFlag(FLAGS_host);
  options.grpc_port = absl::GetFlag(FLAGS_grpc_port);
  options.use_ssl = absl::GetFlag(FLAGS_grpc_use_ssl);
  options.use_ssl_mutual = absl::GetFlag(FLAGS_grpc_use_ssl_mutual);
  options.server_cert = absl::GetFlag(FLAGS_grpc_server_cert);
  options.server_key = absl::GetFlag(FLAGS_grpc_server_key);
  options.root_cert = absl::GetFlag(FLAGS_grpc_root_cert);
  options.cert_refresh_secs = absl::GetFlag(FLAGS_grpc_cert_refresh_secs);
  absl::StatusOr<inferd::AccessPolicy> access =
      inferd::AccessPolicy::Parse(restricted_protocols);
  if (!access.ok()) return access.status();
  options.access = std::move(*access);
  options.max_message_bytes = absl::GetFlag(FLAGS_grpc_max_message_bytes);
  options.keepalive_time_ms = absl::GetFlag(FLAGS_grpc_keepalive_time);
  options.keepalive_timeout_ms = absl::GetFlag(FLAGS_grpc_keepalive_timeout);
  options.keepalive_permit_without_calls =
      absl::GetFlag(FLAGS_grpc_keepalive_permit_without_calls);
  options.http2_max_pings_without_data =
      absl::GetFlag(FLAGS_grpc_http2_max_pings_without_data);
  options.http2_min_recv_ping_interval_without_data_ms =
      absl::GetFlag(FLAGS_grpc_http2_min_recv_ping_interval_without_data);
  options.http2_max_ping_strikes =
      absl::GetFlag(FLAGS_grpc_http2_max_ping_strikes);
  options.max_concurrent_streams =
      absl::GetFlag(FLAGS_grpc_max_concurrent_streams);
  options.max_memory_bytes = absl::GetFlag(FLAGS_grpc_max_memory_bytes);
  if (options.max_memory_bytes < 0 ||
      (options.max_memory_bytes != 0 &&
       options.max_memory_bytes < 2 * int64_t{options.max_message_bytes})) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--grpc-max-memory-bytes=", options.max_memory_bytes,
        ": must be 0 (no limit) or at least twice --grpc-max-message-bytes (",
        2 * int64_t{options.max_message_bytes},
        "), else one largest request could not be read"));
  }
  options.strict_readiness = absl::GetFlag(FLAGS_strict_readiness);
  options.http2_bdp_probe = absl::GetFlag(FLAGS_grpc_http2_bdp_probe);
  options.http2_stream_window_bytes =
      absl::GetFlag(FLAGS_grpc_http2_stream_window_bytes);
  options.max_connection_age_ms = absl::GetFlag(FLAGS_grpc_max_connection_age);
  options.max_connection_idle_ms =
      absl::GetFlag(FLAGS_grpc_max_connection_idle);
  options.max_connection_age_grace_ms =
      absl::GetFlag(FLAGS_grpc_max_connection_age_grace);
  for (const auto& [flag, value, least] :
       {std::tuple{"--grpc-max-message-bytes", options.max_message_bytes, 1},
        std::tuple{"--grpc-keepalive-time", options.keepalive_time_ms, 1},
        std::tuple{"--grpc-keepalive-timeout", options.keepalive_timeout_ms, 1},
        std::tuple{"--grpc-http2-max-pings-without-data",
                   options.http2_max_pings_without_data, 0},
        std::tuple{"--grpc-http2-min-recv-ping-interval-without-data",
                   options.http2_min_recv_ping_interval_without_data_ms, 0},
        std::tuple{"--grpc-http2-max-ping-strikes",
                   options.http2_max_ping_strikes, 0},
        std::tuple{"--grpc-max-concurrent-streams",
                   options.max_concurrent_streams, 1},
        std::tuple{"--grpc-max-connection-age", options.max_connection_age_ms,
                   0},
        std::tuple{"--grpc-max-connection-age-grace",
                   options.max_connection_age_grace_ms, 0},
        std::tuple{"--grpc-max-connection-idle", options.max_connection_idle_ms,
                   0},
        std::tuple{"--grpc-http2-stream-window-bytes",
                   options.http2_stream_window_bytes, 65535}}) {
    if (value < least) {
      return absl::InvalidArgumentError(
          absl::StrCat(flag, "=", value, ": must be at least ", least));
    }
  }
  return options;
}

// Creates the repository per the control-mode flags and loads what they ask.
absl::StatusOr<std::unique_ptr<inferd::ModelRepository>> StartRepository(
    const std::string& root, inferd::metrics::ServerMetrics* metrics,
    inferd::ModelLoader* loader, inferd::batching::WorkerPools* pools) {
  inferd::ModelRepository::Options options;
  options.root = root;
  options.metrics = metrics;
  options.pools = pools;
  const std::string mode = absl::GetFlag(FLAGS_model_control_mode);
  if (mode == "poll") {
    options.mode = inferd::ControlMode::kPoll;
  } else if (mode == "explicit") {
    options.mode = inferd::ControlMode::kExplicit;
  } else if (mode != "none") {
    return absl::InvalidArgumentError(absl::StrCat(
        "--model-control-mode=", mode, ": expected none, poll or explicit"));
  }
  options.poll_interval =
      absl::Seconds(absl::GetFlag(FLAGS_repository_poll_secs));
  auto repository = inferd::ModelRepository::Create(options, loader);
  if (!repository.ok()) return repository.status();
  const std::vector<std::string> wanted = absl::GetFlag(FLAGS_load_model);
  const bool all = options.mode != inferd::ControlMode::kExplicit ||
                   std::find(wanted.begin(), wanted.end(), "*") != wanted.end();
  if (all) {
    const int ready = (*repository)->LoadAll();
    inferd::LogInfo(ready, " model(s) ready from ", root, " (", mode,
                    " model control)");
  } else {
    for (const std::string& name : wanted) {
      (*repository)->LoadModel(name).IgnoreError();  // logged by the repository
    }
    (*repository)->MarkStarted();
  }
  return repository;
}

// The HTTP server options of the flags with `prefix` ("http", "metrics"):
// address, and in `tls` the HTTPS files (none named: plain HTTP).
// InvalidArgument naming the flag when the files are not a certificate and
// its key that pass ReadTlsFiles()' checks.
absl::StatusOr<inferd::http::ServerOptions> HttpOptions(
    const std::string& prefix, const std::string& address,
    const std::string& cert, const std::string& key, inferd::TlsFiles* tls) {
  inferd::http::ServerOptions options;
  options.host = address.empty() ? absl::GetFlag(FLAGS_host) : address;
  if (cert.empty() != key.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", prefix, "-server-cert and --", prefix,
                     "-server-key go together"));
  }
  *tls = {};
  if (!cert.empty()) {
    *tls = inferd::TlsFiles{{cert, absl::StrCat("--", prefix, "-server-cert")},
                            {key, absl::StrCat("--", prefix, "-server-key")},
                            {}};
    if (absl::Status s = inferd::ReadTlsFiles(*tls).status(); !s.ok()) {
      return s;
    }
  }
  return options;
}

// Makes `options` serve HTTPS with the certificate of `files`, re-read
// every `refresh_secs` (0: never); null, and plain HTTP, when `files` names
// none. The result must outlive the server.
absl::StatusOr<std::unique_ptr<inferd::HttpsCertificates>> LoadHttps(
    const inferd::TlsFiles& files, int refresh_secs,
    inferd::http::ServerOptions* options) {
  if (files.cert.path.empty()) return nullptr;
  inferd::HttpsCertificates::Options https;
  https.files = files;
  https.refresh_interval = absl::Seconds(refresh_secs);
  absl::StatusOr<std::unique_ptr<inferd::HttpsCertificates>> certificates =
      inferd::HttpsCertificates::Create(std::move(https));
  if (certificates.ok()) options->tls = (*certificates)->identity();
  return certificates;
}

// The HTTP/REST and metrics servers as the flags ask for them (nullopt: off).
struct HttpFrontEnds {
  std::optional<inferd::http::ServerOptions> http;
  std::optional<inferd::http::ServerOptions> metrics;
  // Their HTTPS files; no certificate path: plain HTTP.
  inferd::TlsFiles http_tls;
  inferd::TlsFiles metrics_tls;
  inferd::AccessPolicy http_access;
};

// The HTTP and metrics flags, PEM files read; InvalidArgument naming the
// flag for a bad value.
absl::StatusOr<HttpFrontEnds> HttpFrontEndOptions(
    const std::vector<std::string>& restricted_apis) {
  HttpFrontEnds front;
  absl::StatusOr<inferd::AccessPolicy> access =
      inferd::AccessPolicy::Parse(restricted_apis);
  if (!access.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--http-restricted-api: ", access.status().message()));
  }
  front.http_access = std::move(*access);
  if (absl::GetFlag(FLAGS_allow_metrics)) {
    absl::StatusOr<inferd::http::ServerOptions> metrics = HttpOptions(
        "metrics", absl::GetFlag(FLAGS_metrics_address),
        absl::GetFlag(FLAGS_metrics_server_cert),
        absl::GetFlag(FLAGS_metrics_server_key), &front.metrics_tls);
    if (!metrics.ok()) return metrics.status();
    metrics->port = absl::GetFlag(FLAGS_metrics_port);
    front.metrics = std::move(*metrics);
  }
  if (absl::GetFlag(FLAGS_allow_http)) {
    absl::StatusOr<inferd::http::ServerOptions> http =
        HttpOptions("http", absl::GetFlag(FLAGS_http_address),
                    absl::GetFlag(FLAGS_http_server_cert),
                    absl::GetFlag(FLAGS_http_server_key), &front.http_tls);
    if (!http.ok()) return http.status();
    http->port = absl::GetFlag(FLAGS_http_port);
    http->threads = absl::GetFlag(FLAGS_http_thread_count);
    http->max_body_bytes = static_cast<size_t>(
        std::max<int64_t>(0, absl::GetFlag(FLAGS_http_max_input_size)));
    http->connection_limit = absl::GetFlag(FLAGS_http_max_connections);
    http->idle_timeout_secs = absl::GetFlag(FLAGS_http_idle_timeout_secs);
    front.http = std::move(*http);
  }
  const bool https =
      !front.http_tls.cert.path.empty() || !front.metrics_tls.cert.path.empty();
  if (https && absl::GetFlag(FLAGS_grpc_cert_refresh_secs) < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--grpc-cert-refresh-secs must be 0 (read the files once) or a number "
        "of seconds, got ",
        absl::GetFlag(FLAGS_grpc_cert_refresh_secs)));
  }
  return front;
}

// Runs the server until a stop signal; returns the exit code.
int Serve(const std::string& root, const inferd::ServerOptions& options,
          const HttpFrontEnds& front, const sigset_t& stop_signals) {
  const std::string host = options.host;
  inferd::metrics::ServerMetrics all_metrics;
  // Null when metrics are off: then nothing on the request path records.
  inferd::metrics::ServerMetrics* metrics = nullptr;
  // Before the servers that present them.
  std::unique_ptr<inferd::HttpsCertificates> metrics_certificates;
  std::unique_ptr<inferd::HttpsCertificates> http_certificates;
  std::unique_ptr<inferd::metrics::MetricsExporter> exporter;
  if (front.metrics.has_value()) {
    metrics = &all_metrics;
    inferd::http::ServerOptions metrics_options = *front.metrics;
    auto certificates = LoadHttps(front.metrics_tls, options.cert_refresh_secs,
                                  &metrics_options);
    if (!certificates.ok()) {
      inferd::LogError(certificates.status().message());
      return 1;
    }
    metrics_certificates = *std::move(certificates);
    auto started =
        inferd::metrics::MetricsExporter::Start(metrics_options, metrics);
    if (!started.ok()) {
      inferd::LogError(started.status().message());
      return 1;
    }
    exporter = std::move(*started);
    inferd::LogInfo("metrics on ",
                    metrics_options.tls == nullptr ? "http" : "https", "://",
                    metrics_options.host, ":", exporter->port(), "/metrics");
  }

  // Before the repository, which must not outlive them.
  std::unique_ptr<inferd::batching::WorkerPools> pools;
  const std::string pool_mode = absl::GetFlag(FLAGS_worker_pool);
  if (pool_mode == "shared") {
    int threads = absl::GetFlag(FLAGS_worker_threads);
    if (threads <= 0) threads = inferd::UsableCpus();
    pools = std::make_unique<inferd::batching::WorkerPools>(
        threads, std::max(1, absl::GetFlag(FLAGS_gpu_worker_threads)),
        inferd::RealClock());
    inferd::LogInfo("model workers: one shared pool per device, ", threads,
                    " on the CPU");
  } else if (pool_mode != "per-version") {
    inferd::LogError("--worker-pool=", pool_mode,
                     ": expected shared or per-version");
    return 2;
  }
  inferd::TorchModelLoader loader;
  absl::StatusOr<std::unique_ptr<inferd::ModelRepository>> repository =
      StartRepository(root, metrics, &loader, pools.get());
  if (!repository.ok()) {
    inferd::LogError(repository.status().message());
    return 2;
  }

  auto server =
      inferd::InferenceServer::Start(options, repository->get(), metrics);
  if (!server.ok()) {
    inferd::LogError(server.status().message());
    return 1;
  }
  std::string tls;
  if (options.use_ssl) {
    tls = absl::StrCat(" (", options.use_ssl_mutual ? "mutual TLS" : "TLS",
                       options.cert_refresh_secs > 0
                           ? absl::StrCat(", certificates re-read every ",
                                          options.cert_refresh_secs, " s")
                           : "",
                       ")");
  }
  inferd::LogInfo("listening for gRPC", tls, " on ", host, ":",
                  (*server)->port());

  // Declared before the front end that points to it.
  inferd::AccessPolicy http_access = front.http_access;
  http_access.CountRefusalsIn(metrics, inferd::Protocol::kHttp);
  std::unique_ptr<inferd::HttpFrontEnd> http;
  if (front.http.has_value()) {
    inferd::http::ServerOptions http_options = *front.http;
    auto certificates =
        LoadHttps(front.http_tls, options.cert_refresh_secs, &http_options);
    if (!certificates.ok()) {
      inferd::LogError(certificates.status().message());
      return 1;
    }
    http_certificates = *std::move(certificates);
    auto started = inferd::HttpFrontEnd::Start(http_options, (*server)->core(),
                                               &http_access);
    if (!started.ok()) {
      inferd::LogError(started.status().message());
      return 1;
    }
    http = std::move(*started);
    inferd::LogInfo("listening for HTTP",
                    http_options.tls == nullptr ? "" : " (TLS)", " on ",
                    http_options.host, ":", http->port());
  }

  const int signal = inferd::WaitForStopSignal(stop_signals);
  // The drain order: not ready (still serving) for the notice; then the
  // gRPC port refuses new connections while the open ones are served until
  // their maximum age asks them away (when one is set); then no new calls
  // (GOAWAY), the calls in flight finish (up to the exit timeout), and every
  // queued request is answered as the models unload.
  const absl::Duration notice =
      absl::Seconds(std::max(0, absl::GetFlag(FLAGS_drain_notice_secs)));
  const absl::Duration exit_timeout =
      absl::Seconds(std::max(0, absl::GetFlag(FLAGS_exit_timeout_secs)));
  // gRPC spreads each connection's age by up to +10%; the last GOAWAY then
  // needs a moment to reach the client.
  const int age_ms = absl::GetFlag(FLAGS_grpc_max_connection_age);
  const absl::Duration age_out =
      age_ms > 0 ? absl::Milliseconds(age_ms) * 1.1 + absl::Milliseconds(500)
                 : absl::ZeroDuration();
  inferd::LogInfo("signal ", signal, ": draining; not ready for ",
                  absl::FormatDuration(notice),
                  age_ms > 0 ? absl::StrCat(", then the gRPC port closed for ",
                                            absl::FormatDuration(age_out),
                                            " while connections age out")
                             : "",
                  ", then up to ", absl::FormatDuration(exit_timeout),
                  " to finish the calls in flight");
  (*server)->StartDraining();
  absl::SleepFor(notice);
  (*server)->StopAccepting();
  absl::SleepFor(age_out);
  std::thread http_stop([&http, exit_timeout] {
    if (http != nullptr) http->Shutdown(exit_timeout);
  });
  (*server)->Shutdown(exit_timeout);
  http_stop.join();
  http.reset();
  server->reset();
  repository->reset();
  inferd::LogInfo("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "inferd --model-repository=DIR [--grpc-port=8001] [--host=127.0.0.1]");
  const std::vector<std::string> restricted_protocols =
      TakeRepeatedFlag(&argc, argv, "grpc_restricted_protocol");
  const std::vector<std::string> restricted_apis =
      TakeRepeatedFlag(&argc, argv, "http_restricted_api");
  inferd::ParseFlagsAllowingDashes(argc, argv);
  const std::string root = absl::GetFlag(FLAGS_model_repository);
  if (root.empty()) {
    std::fprintf(stderr, "inferd: --model-repository=DIR is required\n");
    return 2;
  }
  // Checked before any model loads, so that a typo costs no loading time.
  absl::StatusOr<inferd::ServerOptions> options =
      GrpcOptions(restricted_protocols);
  if (options.ok()) {
    options->use_ssl = options->use_ssl || options->use_ssl_mutual;
    if (absl::Status s = inferd::CheckServerCredentials(*options); !s.ok()) {
      options = s;
    }
  }
  if (!options.ok()) {
    std::fprintf(stderr, "inferd: %s\n",
                 std::string(options.status().message()).c_str());
    return 2;
  }
  // Likewise the HTTP and metrics flags and certificates.
  absl::StatusOr<HttpFrontEnds> front = HttpFrontEndOptions(restricted_apis);
  if (!front.ok()) {
    std::fprintf(stderr, "inferd: %s\n",
                 std::string(front.status().message()).c_str());
    return 2;
  }
  // Debian's Abseil checks every Mutex acquisition for lock-order cycles; on
  // the request path that cost ~2% of the server's CPU (perf, bench/README.md).
  // The tests (built the same way) keep the check on.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  const sigset_t stop_signals = inferd::BlockStopSignals();
  // Before any thread starts, so that they all inherit the class.
  const std::string io_class = absl::GetFlag(FLAGS_batch_class_io_threads);
  if (io_class != "auto" && io_class != "true" && io_class != "false") {
    std::fprintf(stderr,
                 "inferd: --batch-class-io-threads=%s: expected auto, true "
                 "or false\n",
                 io_class.c_str());
    return 2;
  }
  std::unique_ptr<inferd::IoClassGovernor> io_class_governor;
  if (io_class != "false") {
    if (absl::Status s = inferd::RunInBatchClass(); !s.ok()) {
      inferd::LogWarning("--batch-class-io-threads: ", s.message(),
                         "; all threads stay in the default class");
    } else if (io_class == "auto") {
      io_class_governor = std::make_unique<inferd::IoClassGovernor>(
          inferd::IoClassGovernor::Options());
      io_class_governor->Start();
    }
  }
  inferd::ConfigureTorchThreads(absl::GetFlag(FLAGS_intra_op_threads),
                                absl::GetFlag(FLAGS_inter_op_threads));
  std::unique_ptr<inferd::MemoryTrimmer> trimmer;
  if (const int secs = absl::GetFlag(FLAGS_memory_trim_secs); secs > 0) {
    trimmer = std::make_unique<inferd::MemoryTrimmer>(absl::Seconds(secs));
  }
  return Serve(root, *options, *front, stop_signals);
}
