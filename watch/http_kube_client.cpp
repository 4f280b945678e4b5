#include "watch/http_kube_client.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "core/http/url.hpp"
#include "watch/status_error.hpp"
#include "watch/watch_stream_parser.hpp"

namespace podid::watch {
namespace asio = boost::asio;
namespace json = boost::json;
using core::ErrorCode;

namespace {

void add_query(std::string& target, std::string_view key, std::string_view value) {
  if (value.empty()) return;
  target += target.find('?') == std::string::npos ? '?' : '&';
  target += key;
  target += '=';
  target += http::url_encode(value);
}

core::Result<json::object> parse_object(const http::Response& res) {
  boost::system::error_code ec;
  auto value = json::parse(res.body, ec);
  if (ec || !value.is_object())
    return core::make_error(ErrorCode::transient, "API server sent a non-object body");
  return std::move(value.get_object());
}

core::Result<std::string> name_of(const json::object& object) {
  const auto* meta = object.if_contains("metadata");
  const auto* name = meta != nullptr && meta->is_object() ? meta->get_object().if_contains("name") : nullptr;
  if (name == nullptr || !name->is_string() || name->get_string().empty()) {
    return core::make_error(ErrorCode::invalid, "Object has no metadata.name");
  }
  return std::string{name->get_string()};
}

}  // namespace

HttpKubeClient::HttpKubeClient(std::unique_ptr<http::HttpClient> http, std::string server, TokenSource tokens,
                               KubeClientOptions options)
    : http_(std::move(http)),
      server_(std::move(server)),
      tokens_(std::move(tokens)),
      options_(std::move(options)) {}

core::Result<std::unique_ptr<HttpKubeClient>> HttpKubeClient::create(asio::any_io_executor executor,
                                                                     const ClusterConfig& config,
                                                                     KubeClientOptions options) {
  auto url = PODID_TRY(http::parse_url(config.server));
  std::string server = url.scheme + "://" + url.authority();
  http::ClientOptions http_options;
  http_options.tls = config.tls;
  http_options.user_agent = options.user_agent;
  auto http = PODID_TRY(http::HttpClient::create(std::move(executor), std::move(http_options)));
  TokenSource tokens{config.token, config.token_file};
  return std::unique_ptr<HttpKubeClient>(
      new HttpKubeClient(std::move(http), std::move(server), std::move(tokens), std::move(options)));
}

core::Result<http::Request> HttpKubeClient::make_request(std::string method, const std::string& target,
                                                         std::string body, std::string_view content_type) {
  http::Request req;
  req.method = std::move(method);
  req.url = server_ + target;
  req.timeout = options_.request_timeout;
  req.headers.emplace_back("Accept", "application/json");
  const auto token = PODID_TRY(tokens_.token());
  if (!token.empty()) req.headers.emplace_back("Authorization", "Bearer " + token);
  if (!body.empty()) req.headers.emplace_back("Content-Type", std::string{content_type});
  req.body = std::move(body);
  return req;
}

asio::awaitable<core::Result<http::Response>> HttpKubeClient::send(std::string method, std::string target,
                                                                   std::string body,
                                                                   std::string content_type) {
  for (int attempt = 0;; ++attempt) {
    auto req = make_request(method, target, body, content_type);
    if (!req) co_return req.error();
    auto res = co_await http_->request(std::move(*req));
    if (!res) co_return res.error();
    if (res->status == 401 && attempt == 0 && tokens_.invalidate())
      continue;  // rotated token: re-read, retry once
    co_return res;
  }
}

asio::awaitable<core::Result<json::object>> HttpKubeClient::object_call(std::string method,
                                                                        std::string target, std::string body,
                                                                        std::string content_type) {
  auto res = co_await send(std::move(method), std::move(target), std::move(body), std::move(content_type));
  if (!res) co_return res.error();
  if (!res->success()) co_return status_error(res->status, res->body, res->header("Retry-After"));
  co_return parse_object(*res);
}

asio::awaitable<core::Result<json::object>> HttpKubeClient::get(const ResourceKind& kind, std::string ns,
                                                                std::string name) {
  co_return co_await object_call("GET", object_path(kind, ns, name), {}, {});
}

asio::awaitable<core::Result<ObjectList>> HttpKubeClient::list(const ResourceKind& kind, std::string ns,
                                                               ListOptions options) {
  std::string target = collection_path(kind, ns);
  add_query(target, "labelSelector", options.label_selector);
  add_query(target, "fieldSelector", options.field_selector);
  add_query(target, "resourceVersion", options.resource_version);
  add_query(target, "resourceVersionMatch", options.resource_version_match);
  if (options.limit > 0) add_query(target, "limit", std::to_string(options.limit));
  add_query(target, "continue", options.continue_token);
  auto body = co_await object_call("GET", std::move(target), {}, {});
  if (!body) co_return body.error();
  ObjectList out;
  if (auto* items = body->if_contains("items"); items != nullptr && items->is_array()) {
    for (auto& item : items->get_array()) {
      if (item.is_object()) out.items.push_back(std::move(item.get_object()));
    }
  }
  out.resource_version = resource_version_of(*body);
  if (const auto* meta = body->if_contains("metadata"); meta != nullptr && meta->is_object()) {
    if (const auto* c = meta->get_object().if_contains("continue"); c != nullptr && c->is_string()) {
      out.continue_token = std::string{c->get_string()};
    }
  }
  co_return out;
}

asio::awaitable<core::Result<json::object>> HttpKubeClient::create(const ResourceKind& kind, std::string ns,
                                                                   json::object object) {
  co_return co_await object_call("POST", collection_path(kind, ns), json::serialize(object),
                                 "application/json");
}

asio::awaitable<core::Result<json::object>> HttpKubeClient::update(const ResourceKind& kind, std::string ns,
                                                                   json::object object) {
  auto name = name_of(object);
  if (!name) co_return name.error();
  co_return co_await object_call("PUT", object_path(kind, ns, *name), json::serialize(object),
                                 "application/json");
}

asio::awaitable<core::Result<json::object>> HttpKubeClient::update_status(const ResourceKind& kind,
                                                                          std::string ns,
                                                                          json::object object) {
  auto name = name_of(object);
  if (!name) co_return name.error();
  co_return co_await object_call("PUT", object_path(kind, ns, *name, "status"), json::serialize(object),
                                 "application/json");
}

asio::awaitable<core::Result<json::object>> HttpKubeClient::patch(const ResourceKind& kind, std::string ns,
                                                                  std::string name, PatchType type,
                                                                  json::value patch, PatchOptions options) {
  std::string target = object_path(kind, ns, name, options.subresource);
  std::string content_type = "application/merge-patch+json";
  if (type == PatchType::json) content_type = "application/json-patch+json";
  if (type == PatchType::apply) {
    if (options.field_manager.empty()) {
      co_return core::make_error(ErrorCode::invalid, "Server-side apply needs a field manager");
    }
    content_type = "application/apply-patch+yaml";  // JSON is valid YAML
    if (options.force) add_query(target, "force", "true");
  }
  add_query(target, "fieldManager", options.field_manager);
  co_return co_await object_call("PATCH", std::move(target), json::serialize(patch), std::move(content_type));
}

asio::awaitable<core::Result<json::object>> HttpKubeClient::remove(const ResourceKind& kind, std::string ns,
                                                                   std::string name, DeleteOptions options) {
  json::object body{{"kind", "DeleteOptions"}, {"apiVersion", "v1"}};
  if (options.grace_period_seconds) body["gracePeriodSeconds"] = *options.grace_period_seconds;
  if (!options.propagation_policy.empty()) body["propagationPolicy"] = options.propagation_policy;
  json::object pre;
  if (!options.precondition_uid.empty()) pre["uid"] = options.precondition_uid;
  if (!options.precondition_resource_version.empty())
    pre["resourceVersion"] = options.precondition_resource_version;
  if (!pre.empty()) body["preconditions"] = std::move(pre);
  co_return co_await object_call("DELETE", object_path(kind, ns, name), json::serialize(body),
                                 "application/json");
}

asio::awaitable<core::Status> HttpKubeClient::watch(const ResourceKind& kind, std::string ns,
                                                    WatchOptions options, WatchHandler on_event) {
  std::string target = collection_path(kind, ns) + "?watch=1";
  if (options.allow_bookmarks) add_query(target, "allowWatchBookmarks", "true");
  add_query(target, "resourceVersion", options.resource_version);
  add_query(target, "labelSelector", options.label_selector);
  add_query(target, "fieldSelector", options.field_selector);
  add_query(target, "timeoutSeconds", std::to_string(options.timeout.count()));
  const WatchStreamParser::EventHandler handler = std::move(on_event);
  for (int attempt = 0;; ++attempt) {
    auto req = make_request("GET", target, {}, {});
    if (!req) co_return req.error();
    req->timeout = options.timeout + std::chrono::seconds(30);
    auto res = co_await http_->stream(
        std::move(*req),
        [&handler](std::string_view line) { return WatchStreamParser::feed_line(line, handler); },
        options.idle_timeout);
    if (!res) co_return res.error();
    if (res->status == 401 && attempt == 0 && tokens_.invalidate()) continue;
    if (!res->success()) co_return status_error(res->status, res->body, res->header("Retry-After"));
    co_return core::ok();
  }
}

}  // namespace podid::watch
