#include "nodeproxy/token_handler.hpp"

#include "nodeproxy/imds_response.hpp"
#include "nodeproxy/object_id_claims.hpp"

namespace podid::nodeproxy {

bool has_metadata_header(const http::Request& request) {
  return request.header("Metadata") == "true";
}

namespace {

http::Response from_upstream_error(const core::Error& e, std::chrono::seconds retry_after) {
  const auto after =
      e.retry_after ? std::chrono::duration_cast<std::chrono::seconds>(*e.retry_after) : retry_after;
  switch (e.code) {
    case core::ErrorCode::throttled:
      return imds_retry_later(429, e.message, after);
    case core::ErrorCode::transient:
    case core::ErrorCode::cancelled:
      return imds_retry_later(503, e.message, after);
    default:
      return imds_error(403, "access_denied", e.message);
  }
}

http::Response refuse(RequestRecord& record, const char* result, http::Response r) {
  record.outcome = "refused";
  record.result = result;
  return r;
}

void note_decision(RequestRecord& record, const Decision& d) {
  if (!(d.pod == core::PodKey{})) record.pod = d.pod.to_string();
  if (d.kind == Decision::Kind::fetch || d.kind == Decision::Kind::wait) {
    record.identity = d.identity.key.to_string();
    record.client_id = d.identity.client_id;
    record.identity_type = d.identity.type;
  }
}

}  // namespace

boost::asio::awaitable<http::Response> TokenHandler::handle(const http::Request& request,
                                                            const RoutedTarget& target,
                                                            RequestRecord& record) {
  if (request.method != "GET") {
    auto r = imds_error(405, "invalid_request", "Only GET is supported");
    r.headers.emplace_back("Allow", "GET");
    // NOLINTNEXTLINE(clang-analyzer-cplusplus.Move): clang 14 does not model coroutine frames; r moves once
    co_return refuse(record, "bad_request", std::move(r));
  }
  if (options_.metadata_header_required && !has_metadata_header(request))
    co_return refuse(record, "bad_request",
                     imds_error(400, "invalid_request", "Required metadata header not specified"));
  auto params = parse_query(target.query);
  if (!params)
    co_return refuse(record, "bad_request", imds_error(400, "invalid_request", params.error().message));
  auto query = parse_token_query(*params);
  if (!query)
    co_return refuse(record, "bad_request", imds_error(400, "invalid_request", query.error().message));
  record.resource = query->resource;
  const auto deadline = std::chrono::steady_clock::now() + options_.assignment_wait;
  Decision d;
  for (;;) {
    d = decide(*source_.current(), request.remote_address, *query, options_.retry_after);
    if (d.kind != Decision::Kind::wait || std::chrono::steady_clock::now() >= deadline) break;
    (void)co_await changes_.wait_until(deadline);
  }
  note_decision(record, d);
  switch (d.kind) {
    case Decision::Kind::respond:
      co_return refuse(record, "denied", std::move(d.response));
    case Decision::Kind::wait:
      record.outcome = "waited_out";
      record.result = "not_ready";
      co_return d.response;
    case Decision::Kind::pass_through:
      record.outcome = "pass_through";
      record.result = "pass_through";
      co_return co_await proxy_.forward(request);
    case Decision::Kind::resolve_object_id:
      co_return co_await resolve_object_id(request, *query, record);
    case Decision::Kind::fetch:
      break;
  }
  TokenRequest token_request{d.identity, query->resource};  // a named object: g++ 12 mishandles temporaries
  auto token = co_await tokens_.fetch(std::move(token_request));
  if (!token) {
    record.outcome = "upstream_error";
    record.result = "upstream_error";
    co_return from_upstream_error(token.error(), options_.retry_after);
  }
  record.outcome = "token";
  record.result = "issued";
  co_return imds_token(*token, clock_.now_ms() / 1000);
}

boost::asio::awaitable<http::Response> TokenHandler::resolve_object_id(const http::Request& request,
                                                                       const TokenQuery& query,
                                                                       RequestRecord& record) {
  if (object_ids_ == nullptr)
    co_return refuse(record, "denied", imds_error(400, "invalid_request", "Identity not found"));
  TokenRequest by_object_id;
  by_object_id.identity.key = {"", "object_id:" + query.selector_value};
  by_object_id.identity.principal_id = query.selector_value;
  by_object_id.resource = query.resource;
  auto token = co_await object_ids_->fetch(std::move(by_object_id));
  if (!token && token.error().code == core::ErrorCode::permission)  // IMDS: no such identity on the node
    co_return refuse(record, "denied", imds_error(400, "invalid_request", "Identity not found"));
  if (!token) {
    record.outcome = "upstream_error";
    record.result = "upstream_error";
    co_return from_upstream_error(token.error(), options_.retry_after);
  }
  auto claims = decode_token_claims(token->access_token.value());
  if (!claims)  // an answer we cannot attribute to an identity is never handed out
    co_return refuse(record, "denied", imds_error(403, "access_denied", claims.error().message));
  // The current snapshot decides: the grant may have changed while IMDS answered.
  Decision d =
      decide_claims(*source_.current(), request.remote_address, query, *claims, options_.retry_after);
  note_decision(record, d);
  switch (d.kind) {
    case Decision::Kind::fetch:
      break;
    case Decision::Kind::wait:
      record.outcome = "waited_out";
      record.result = "not_ready";
      co_return d.response;
    default:  // respond; pass_through cannot follow a resolve_object_id decision
      co_return refuse(record, "denied", std::move(d.response));
  }
  token->client_id = d.identity.client_id;
  record.outcome = "token";
  record.result = "issued";
  co_return imds_token(*token, clock_.now_ms() / 1000);
}

}  // namespace podid::nodeproxy
