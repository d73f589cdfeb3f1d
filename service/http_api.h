#ifndef INFERD_SERVICE_HTTP_API_H_
#define INFERD_SERVICE_HTTP_API_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "http/http_server.h"
#include "service/access_control.h"
#include "service/inference_core.h"

namespace inferd {

// The KServe v2 REST protocol with Triton's extensions, over InferenceCore:
//   GET  /v2/health/live, /v2/health/ready
//   GET  /v2                                         server metadata
//   GET  /v2/models/M[/versions/V]                   model metadata
//   GET  /v2/models/M[/versions/V]/ready
//   GET  /v2/models/M[/versions/V]/config
//   POST /v2/models/M[/versions/V]/infer             JSON or binary tensors
//   GET  /v2/models[/M[/versions/V]]/stats
//   POST /v2/repository/index
//   POST /v2/repository/models/M/load, .../unload
// Errors are {"error": "..."} with Triton's status mapping. Thread-safe.
class HttpApi {
 public:
  // `core` and `access` (null: nothing restricted) must outlive the API.
  HttpApi(InferenceCore* core, const AccessPolicy* access)
      : core_(core), access_(access) {}

  void Handle(const http::Request& request, http::Reply reply);

 private:
  void Infer(const http::Request& request, const std::string& model,
             const std::string& version, http::Reply reply);

  InferenceCore* const core_;
  const AccessPolicy* const access_;
};

// The HTTP front end: HttpApi on an http::Server.
class HttpFrontEnd {
 public:
  // `core` and `options.access` stay the caller's; both must outlive it.
  static absl::StatusOr<std::unique_ptr<HttpFrontEnd>> Start(
      const http::ServerOptions& options, InferenceCore* core,
      const AccessPolicy* access);

  int port() const { return server_->port(); }
  void Shutdown(absl::Duration grace) { server_->Shutdown(grace); }

 private:
  HttpFrontEnd(InferenceCore* core, const AccessPolicy* access)
      : api_(core, access) {}

  HttpApi api_;
  std::unique_ptr<http::Server> server_;  // after api_: stops first
};

}  // namespace inferd

#endif  // INFERD_SERVICE_HTTP_API_H_
