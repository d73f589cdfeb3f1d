#include "tools/bench_http.h"

#include <httplib.h>

#include <chrono>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "service/http_codec.h"

namespace inferd::bench {

HttpLoadDriver::HttpLoadDriver(std::string host, int port,
                               const inference::ModelInferRequest& request,
                               bool binary)
    : host_(std::move(host)), port_(port) {
  path_ = absl::StrCat("/v2/models/", request.model_name(), "/infer");
  http_codec::Body body = http_codec::EncodeInferRequest(request, binary);
  body_ = std::move(body.bytes);
  if (body.json_length.has_value()) {
    json_length_ = absl::StrCat(*body.json_length);
  }
}

Samples HttpLoadDriver::RunLevel(const LoadOptions& options) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point start =
      Clock::now() + absl::ToChronoNanoseconds(options.warmup);
  const Clock::time_point end =
      start + absl::ToChronoNanoseconds(options.duration);
  std::vector<Samples> per_thread(static_cast<size_t>(options.concurrency));
  std::vector<std::thread> threads;
  threads.reserve(static_cast<size_t>(options.concurrency));
  for (int i = 0; i < options.concurrency; ++i) {
    threads.emplace_back([&, i] {
      Samples& samples = per_thread[static_cast<size_t>(i)];
      httplib::Client client(host_, port_);
      client.set_keep_alive(true);
      // Else Nagle and delayed ACKs add ~40 ms to each request.
      client.set_tcp_nodelay(true);
      const auto timeout = absl::ToInt64Seconds(options.rpc_timeout);
      client.set_read_timeout(timeout, 0);
      httplib::Headers headers;
      if (!json_length_.empty()) {
        headers.emplace("Inference-Header-Content-Length", json_length_);
      }
      const char* type = json_length_.empty() ? "application/json"
                                              : "application/octet-stream";
      while (true) {
        const Clock::time_point sent = Clock::now();
        if (sent >= end) break;
        httplib::Result result = client.Post(path_, headers, body_, type);
        const Clock::time_point done = Clock::now();
        if (done < start || done >= end) continue;
        if (result && result->status == 200) {
          samples.latency_ms.push_back(
              std::chrono::duration<double, std::milli>(done - sent).count());
          continue;
        }
        const std::string code =
            result ? absl::StrCat("HTTP_", result->status)
                   : absl::StrCat("HTTP_", httplib::to_string(result.error()));
        ++samples.errors[code];
        samples.first_error.emplace(code, result ? result->body : "");
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  Samples all;
  for (Samples& samples : per_thread) all.Merge(std::move(samples));
  return all;
}

}  // namespace inferd::bench
