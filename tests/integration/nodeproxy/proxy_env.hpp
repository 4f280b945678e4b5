#pragma once
// Shared by the node proxy's integration and root tests: a NodeProxy running on its own io thread, a
// libcurl GET from a chosen source address, and JWT checks against the emulator's JWKS.

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "core/clock.hpp"
#include "core/http/http_server.hpp"
#include "core/logger.hpp"
#include "nodeproxy/node_proxy.hpp"
#include "tests/emulator/emulator.hpp"
#include "tests/emulator/jwt.hpp"
#include "tests/emulator/tests/test_client.hpp"

namespace podid::testing {

// A thread-safe sink that keeps the lines (the node proxy logs from its io thread).
class LockedSink final : public core::Sink {
 public:
  void write(core::LogLevel, std::string_view line) override;
  [[nodiscard]] std::vector<std::string> lines() const;

 private:
  mutable std::mutex mu_;
  std::vector<std::string> lines_;
};

// Runs a NodeProxy on a dedicated io thread. `spawn` starts that thread (e.g. inside a network namespace);
// create() and start() run on it, so the listener and every upstream socket live where the thread is.
// With options.metrics set, /metrics is served too, on metrics_port() (as podid-nodeproxy serves it).
class RunningProxy {
 public:
  using Spawn = std::function<std::thread(std::function<void()>)>;
  RunningProxy(nodeproxy::NodeProxyOptions options, nodeproxy::SnapshotSource& source,
               nodeproxy::SecretReader& secrets, const Spawn& spawn = {});
  ~RunningProxy();  // stops the proxy and joins the thread
  RunningProxy(const RunningProxy&) = delete;
  RunningProxy& operator=(const RunningProxy&) = delete;

  [[nodiscard]] bool ok() const { return error_.empty(); }
  [[nodiscard]] const std::string& error() const { return error_; }
  [[nodiscard]] std::uint16_t port() const { return port_; }
  [[nodiscard]] std::uint16_t metrics_port() const { return metrics_port_; }
  [[nodiscard]] std::vector<std::string> log_lines() const { return sink_.lines(); }
  // Cache counters read on the io thread.
  [[nodiscard]] nodeproxy::TokenCacheCounters cache_counters();

 private:
  void start_metrics(const core::MetricsRegistry& registry, const std::string& address);
  static boost::asio::awaitable<http::Response> serve_metrics(const core::MetricsRegistry& registry,
                                                              http::Request request);
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  core::SystemClock clock_;
  LockedSink sink_;
  std::unique_ptr<nodeproxy::NodeProxy> proxy_;
  std::unique_ptr<http::HttpServer> metrics_;
  std::string error_;
  std::uint16_t port_{0};
  std::uint16_t metrics_port_{0};
  std::thread thread_;
};

struct ImdsReply {
  long status{0};  // 0: no HTTP answer (curl_error says why)
  std::string body;
  std::string curl_error;
  std::string header_retry_after;
};

// GET url with `Metadata: true`, from source_ip when non-empty. Call from the thread (namespace) to use.
[[nodiscard]] ImdsReply curl_get(const std::string& url, const std::string& source_ip, bool metadata = true);

// The token parsed and its signature verified against the tenant's JWKS (one helper for every test).
using emulator::testing::verified_jwt;

}  // namespace podid::testing
