#include "nodeproxy/request_pipeline.hpp"

#include <chrono>

#include "nodeproxy/imds_response.hpp"

namespace podid::nodeproxy {

boost::asio::awaitable<http::Response> RequestPipeline::dispatch(const http::Request& request,
                                                                 const RoutedTarget& target,
                                                                 RequestRecord& record) {
  switch (target.route) {
    case Route::token:
      co_return co_await tokens_.handle(request, target, record);
    case Route::token_spelling:
      record.outcome = "refused";
      co_return imds_error(400, "invalid_request", "Non-canonical token path");
    case Route::unclean:
      record.outcome = "refused";
      co_return imds_error(400, "invalid_request", "Non-canonical request path");
    case Route::host_token:
      record.outcome = "refused";
      co_return imds_error(403, "access_denied", "The host token endpoint is disabled on this node proxy");
    case Route::not_found:
      record.outcome = "refused";
      co_return imds_error(404, "not_found", "No such endpoint");
    case Route::instance:
      if (!options_.allow_instance_metadata) {
        record.outcome = "refused";
        co_return imds_error(403, "access_denied", "Instance metadata is blocked by the node proxy");
      }
      break;
    case Route::metadata:
      break;
  }
  if (options_.metadata_header_required && !has_metadata_header(request)) {
    record.outcome = "refused";
    co_return imds_error(400, "invalid_request", "Required metadata header not specified");
  }
  record.outcome = "proxied";
  co_return co_await proxy_.forward(request);
}

boost::asio::awaitable<http::Response> RequestPipeline::handle(http::Request request) {
  const auto started = std::chrono::steady_clock::now();
  const RoutedTarget target = route_target(request.url);
  RequestRecord record;
  record.route = std::string(to_string(target.route));
  http::Response response = co_await dispatch(request, target, record);
  const auto latency =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started);
  ++counters_.requests;
  ++counters_.by_status[response.status];
  ++counters_.by_outcome[record.outcome];
  if (metrics_ != nullptr)
    metrics_->record_request(target.route, response.status, record,
                             static_cast<double>(latency.count()) / 1e6);
  logger_.info("Request served.", {{"route", record.route.c_str()},
                                   {"caller", request.remote_address.c_str()},
                                   {"pod", record.pod.c_str()},
                                   {"identity", record.identity.c_str()},
                                   {"clientId", record.client_id.c_str()},
                                   {"resource", record.resource.c_str()},
                                   {"status", static_cast<std::int64_t>(response.status)},
                                   {"outcome", record.outcome.c_str()},
                                   {"latencyMs", static_cast<double>(latency.count()) / 1000.0}});
  co_return response;
}

}  // namespace podid::nodeproxy
