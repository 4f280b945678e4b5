#include "nodeproxy/token_handler.hpp"

#include "nodeproxy/imds_response.hpp"
#include "nodeproxy/token_decision.hpp"

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

}  // namespace

boost::asio::awaitable<http::Response> TokenHandler::handle(const http::Request& request,
                                                            const RoutedTarget& target,
                                                            RequestRecord& record) {
  if (request.method != "GET") {
    record.outcome = "refused";
    auto r = imds_error(405, "invalid_request", "Only GET is supported");
    r.headers.emplace_back("Allow", "GET");
    co_return r;
  }
  if (options_.metadata_header_required && !has_metadata_header(request)) {
    record.outcome = "refused";
    co_return imds_error(400, "invalid_request", "Required metadata header not specified");
  }
  auto params = parse_query(target.query);
  if (!params) {
    record.outcome = "refused";
    co_return imds_error(400, "invalid_request", params.error().message);
  }
  auto query = parse_token_query(*params);
  if (!query) {
    record.outcome = "refused";
    co_return imds_error(400, "invalid_request", query.error().message);
  }
  record.resource = query->resource;
  const auto deadline = std::chrono::steady_clock::now() + options_.assignment_wait;
  Decision d;
  for (;;) {
    d = decide(*source_.current(), request.remote_address, *query, options_.retry_after);
    if (d.kind != Decision::Kind::wait || std::chrono::steady_clock::now() >= deadline) break;
    (void)co_await changes_.wait_until(deadline);
  }
  if (!(d.pod == core::PodKey{})) record.pod = d.pod.to_string();
  if (d.kind == Decision::Kind::fetch || d.kind == Decision::Kind::wait) {
    record.identity = d.identity.key.to_string();
    record.client_id = d.identity.client_id;
  }
  switch (d.kind) {
    case Decision::Kind::respond:
      record.outcome = "refused";
      co_return d.response;
    case Decision::Kind::wait:
      record.outcome = "waited_out";
      co_return d.response;
    case Decision::Kind::pass_through:
      record.outcome = "pass_through";
      co_return co_await proxy_.forward(request);
    case Decision::Kind::fetch:
      break;
  }
  TokenRequest token_request{d.identity, query->resource};  // a named object: g++ 12 mishandles temporaries
  auto token = co_await tokens_.fetch(std::move(token_request));
  if (!token) {
    record.outcome = "upstream_error";
    co_return from_upstream_error(token.error(), options_.retry_after);
  }
  record.outcome = "token";
  co_return imds_token(*token, clock_.now_ms() / 1000);
}

}  // namespace podid::nodeproxy
