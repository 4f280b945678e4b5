#pragma once
// MeteredTokenSource: a TokenSource in front of one upstream (the node's IMDS or AAD) that records each
// call's latency and, on failure, its error class under one operation name (NodeProxyMetrics::
// record_upstream). It sits below the cache, so only real upstream calls are measured.
// Lifetime: the source and the metrics outlive it. Thread-safety: the inner source's.

#include <chrono>
#include <string>

#include "nodeproxy/proxy_metrics.hpp"
#include "nodeproxy/token_source.hpp"

namespace podid::nodeproxy {

class MeteredTokenSource final : public TokenSource {
 public:
  MeteredTokenSource(TokenSource& inner, NodeProxyMetrics& metrics, std::string operation)
      : inner_(inner), metrics_(metrics), operation_(std::move(operation)) {}

  [[nodiscard]] boost::asio::awaitable<core::Result<Token>> fetch(TokenRequest request) override {
    const auto started = std::chrono::steady_clock::now();
    auto token = co_await inner_.fetch(std::move(request));
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
    const std::string error = token ? std::string() : std::string(core::to_string(token.error().code));
    metrics_.record_upstream(operation_, error, took.count());
    co_return token;
  }

 private:
  TokenSource& inner_;
  NodeProxyMetrics& metrics_;
  std::string operation_;
};

}  // namespace podid::nodeproxy
