#include "service/http_api.h"

#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/client_text.h"
#include "service/http_codec.h"
#include "service/tensor_codec.h"

namespace inferd {
namespace {

using nlohmann::json;

http::Response Json(int status, std::string body) {
  return http::Response{status, "application/json", {}, std::move(body)};
}

http::Response Error(const absl::Status& status) {
  return Json(http_codec::HttpStatus(status.code()),
              http_codec::ErrorBody(status.message()));
}

http::Response Ok(const json& body) {
  return Json(200, body.dump(-1, ' ', false, json::error_handler_t::replace));
}

http::Response ProtoOrError(const absl::Status& status,
                            const google::protobuf::Message& message) {
  return status.ok() ? Ok(http_codec::ToJson(message)) : Error(status);
}

// Health answers with a status and no body, as Triton's.
http::Response Health(bool good) {
  return http::Response{good ? 200 : 400, "application/json", {}, ""};
}

// A request's path, after /v2/models/: the model, its version ("" for the
// latest) and what follows ("" for metadata, "ready", "infer", ...).
struct ModelPath {
  std::string model;
  std::string version;
  std::string action;
};

std::optional<ModelPath> ParseModelPath(const std::vector<std::string>& parts,
                                        size_t from) {
  if (parts.size() <= from) return std::nullopt;
  ModelPath path{parts[from], "", ""};
  size_t next = from + 1;
  if (parts.size() > next + 1 && parts[next] == "versions") {
    path.version = parts[next + 1];
    next += 2;
  }
  if (parts.size() == next + 1) {
    path.action = parts[next];
  } else if (parts.size() != next) {
    return std::nullopt;
  }
  return path;
}

// The gRPC request message (metadata, config, statistics) for a model path.
template <typename Request>
Request ForModel(const ModelPath& path) {
  Request request;
  request.set_name(path.model);
  request.set_version(path.version);
  return request;
}

// The protocol group of a route, for --http-restricted-api.
ProtocolGroup GroupOf(const std::vector<std::string>& parts,
                      const std::string& action) {
  if (parts.size() > 1 && parts[1] == "health") return ProtocolGroup::kHealth;
  if (parts.size() > 1 && parts[1] == "repository") {
    return ProtocolGroup::kModelRepository;
  }
  if (action == "ready") return ProtocolGroup::kHealth;
  if (action == "infer") return ProtocolGroup::kInference;
  if (action == "config") return ProtocolGroup::kModelConfig;
  if (action == "stats") return ProtocolGroup::kStatistics;
  return ProtocolGroup::kMetadata;
}

absl::Status WrongMethod(const http::Request& request, const char* wanted) {
  return absl::InvalidArgumentError(absl::StrCat(
      request.method, " ", ClientText(request.path), ": use ", wanted));
}

// The body of a repository load request as the gRPC message's parameters.
absl::Status DecodeLoadParameters(const std::string& body,
                                  inference::RepositoryModelLoadRequest* out) {
  if (body.empty()) return absl::OkStatus();
  absl::StatusOr<json> parsed = http_codec::ParseJson(body);
  if (!parsed.ok()) return parsed.status();
  if (!parsed->is_object()) {
    return absl::InvalidArgumentError("the request must be a JSON object");
  }
  auto parameters = parsed->find("parameters");
  if (parameters == parsed->end()) return absl::OkStatus();
  if (!parameters->is_object()) {
    return absl::InvalidArgumentError("\"parameters\" must be an object");
  }
  for (const auto& [key, value] : parameters->items()) {
    inference::ModelRepositoryParameter& parameter =
        (*out->mutable_parameters())[key];
    if (value.is_boolean()) {
      parameter.set_bool_param(value.get<bool>());
    } else if (value.is_number_integer()) {
      parameter.set_int64_param(value.get<int64_t>());
    } else if (value.is_string()) {
      parameter.set_string_param(value.get<std::string>());
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("parameter \"", ClientText(key),
                       "\" must be a boolean, integer or string"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

void HttpApi::Handle(const http::Request& request, http::Reply reply) {
  const std::vector<std::string> parts =
      absl::StrSplit(request.path, '/', absl::SkipEmpty());
  if (parts.empty() || parts[0] != "v2") {
    return reply(Error(absl::NotFoundError(
        absl::StrCat("no such endpoint ", ClientText(request.path),
                     "; the v2 protocol is under /v2"))));
  }
  const bool get = request.method == "GET" || request.method == "HEAD";
  const bool post = request.method == "POST";
  std::optional<ModelPath> model;
  if (parts.size() > 2 && parts[1] == "models" && parts[2] != "stats") {
    model = ParseModelPath(parts, 2);
  }
  const std::string action = model.has_value() ? model->action : "";
  if (access_ != nullptr && !access_->empty()) {
    const ProtocolGroup group = GroupOf(parts, action);
    const AccessPolicy::Restriction* restriction = access_->restriction(group);
    if (restriction != nullptr) {
      const std::string* value = request.Header(restriction->key);
      absl::Status allowed = access_->Check(
          group, value == nullptr ? std::nullopt
                                  : std::optional<absl::string_view>(*value));
      if (!allowed.ok()) {
        if (action == "infer") {
          core_->CountUnresolved(
              model->model, allowed,
              InferenceCore::Call{absl::Now(), Protocol::kHttp});
        }
        return reply(Error(allowed));
      }
    }
  }

  // /v2, /v2/health/..., /v2/repository/...
  if (parts.size() == 1) {
    if (!get) return reply(Error(WrongMethod(request, "GET")));
    inference::ServerMetadataResponse metadata;
    core_->ServerMetadata(&metadata);
    return reply(Ok(http_codec::ToJson(metadata)));
  }
  if (parts[1] == "health" && parts.size() == 3) {
    if (!get) return reply(Error(WrongMethod(request, "GET")));
    if (parts[2] == "live") return reply(Health(true));
    if (parts[2] == "ready") return reply(Health(core_->ServerReady()));
  }
  if (parts[1] == "repository") {
    if (!post) return reply(Error(WrongMethod(request, "POST")));
    if (parts.size() == 3 && parts[2] == "index") {
      inference::RepositoryIndexRequest index_request;
      if (!request.body.empty()) {
        absl::StatusOr<json> body = http_codec::ParseJson(request.body);
        if (!body.ok()) return reply(Error(body.status()));
        if (body->is_object() && body->contains("ready")) {
          index_request.set_ready(body->value("ready", false));
        }
      }
      inference::RepositoryIndexResponse index;
      core_->RepositoryIndex(index_request, &index);
      return reply(Ok(http_codec::ToJson(index)["models"]));
    }
    if (parts.size() == 5 && parts[2] == "models" &&
        (parts[4] == "load" || parts[4] == "unload")) {
      if (parts[4] == "unload") {
        inference::RepositoryModelUnloadRequest unload;
        unload.set_model_name(parts[3]);
        absl::Status status = core_->RepositoryModelUnload(unload);
        return reply(status.ok() ? Json(200, "") : Error(status));
      }
      inference::RepositoryModelLoadRequest load;
      load.set_model_name(parts[3]);
      if (absl::Status s = DecodeLoadParameters(request.body, &load); !s.ok()) {
        return reply(Error(s));
      }
      auto shared = std::make_shared<http::Reply>(std::move(reply));
      core_->RepositoryModelLoad(load, [shared](const absl::Status& status) {
        (*shared)(status.ok() ? Json(200, "") : Error(status));
      });
      return;
    }
  }
  // /v2/models/stats, /v2/models/M[/versions/V]/...
  if (parts[1] == "models") {
    if (parts.size() == 3 && parts[2] == "stats") {
      if (!get) return reply(Error(WrongMethod(request, "GET")));
      inference::ModelStatisticsResponse stats;
      return reply(ProtoOrError(core_->ModelStatistics({}, &stats), stats));
    }
    if (model.has_value()) {
      if (action == "infer") {
        if (!post) return reply(Error(WrongMethod(request, "POST")));
        return Infer(request, model->model, model->version, std::move(reply));
      }
      if (!get) return reply(Error(WrongMethod(request, "GET")));
      if (action.empty()) {
        inference::ModelMetadataResponse metadata;
        return reply(ProtoOrError(
            core_->ModelMetadata(
                ForModel<inference::ModelMetadataRequest>(*model), &metadata),
            metadata));
      }
      if (action == "ready") {
        return reply(Health(core_->ModelReady(model->model, model->version)));
      }
      if (action == "config") {
        inference::ModelConfigResponse config;
        absl::Status status = core_->ModelConfig(
            ForModel<inference::ModelConfigRequest>(*model), &config);
        if (!status.ok()) return reply(Error(status));
        return reply(Ok(http_codec::ToJson(config.config())));
      }
      if (action == "stats") {
        inference::ModelStatisticsResponse stats;
        return reply(ProtoOrError(
            core_->ModelStatistics(
                ForModel<inference::ModelStatisticsRequest>(*model), &stats),
            stats));
      }
    }
  }
  if (parts[1] == "systemsharedmemory" || parts[1] == "cudasharedmemory" ||
      parts[1] == "trace" || parts[1] == "logging") {
    return reply(Error(absl::UnimplementedError(absl::StrCat(
        "/v2/", parts[1], " is not implemented by inferd ", kServerVersion))));
  }
  return reply(Error(absl::NotFoundError(absl::StrCat(
      "no such endpoint ", request.method, " ", ClientText(request.path)))));
}

namespace {

// One HTTP inference between its request and its answer.
struct InferCall {
  explicit InferCall(http::Reply r) : reply(std::move(r)) {}
  http_codec::InferRequest request;
  http::Reply reply;
};

}  // namespace

void HttpApi::Infer(const http::Request& request, const std::string& model,
                    const std::string& version, http::Reply reply) {
  InferenceCore::Call call{absl::Now(), Protocol::kHttp};
  call.cancelled = request.cancelled;
  auto state = std::make_shared<InferCall>(std::move(reply));
  std::optional<size_t> json_length;
  if (const std::string* header =
          request.Header("inference-header-content-length")) {
    size_t length = 0;
    if (!absl::SimpleAtoi(*header, &length)) {
      absl::Status bad = absl::InvalidArgumentError(
          absl::StrCat("Inference-Header-Content-Length must be a byte "
                       "count, not \"",
                       ClientText(*header, 64), "\""));
      core_->CountUnresolved(model, bad, call);
      return state->reply(Error(bad));
    }
    json_length = length;
  }
  if (absl::Status s = http_codec::DecodeInferRequest(request.body, json_length,
                                                      &state->request);
      !s.ok()) {
    core_->CountUnresolved(model, s, call);
    return state->reply(Error(s));
  }
  state->request.request.set_model_name(model);
  state->request.request.set_model_version(version);
  core_->Infer(state->request.request, call,
               [state](absl::StatusOr<InferResponse> result) {
                 if (!result.ok()) return state->reply(Error(result.status()));
                 inference::ModelInferResponse response;
                 EncodeInferResponse(std::move(*result), &response);
                 http_codec::Body body =
                     http_codec::EncodeInferResponse(response, state->request);
                 http::Response answer = Json(200, std::move(body.bytes));
                 if (body.json_length.has_value()) {
                   answer.content_type = "application/octet-stream";
                   answer.headers.push_back({"Inference-Header-Content-Length",
                                             absl::StrCat(*body.json_length)});
                 }
                 state->reply(std::move(answer));
               });
}

absl::StatusOr<std::unique_ptr<HttpFrontEnd>> HttpFrontEnd::Start(
    const http::ServerOptions& options, InferenceCore* core,
    const AccessPolicy* access) {
  std::unique_ptr<HttpFrontEnd> front(new HttpFrontEnd(core, access));
  HttpApi* api = &front->api_;
  absl::StatusOr<std::unique_ptr<http::Server>> server = http::Server::Start(
      options, [api](const http::Request& request, http::Reply reply) {
        api->Handle(request, std::move(reply));
      });
  if (!server.ok()) return server.status();
  front->server_ = std::move(*server);
  return front;
}

}  // namespace inferd
