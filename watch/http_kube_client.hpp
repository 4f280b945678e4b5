#pragma once
// HttpKubeClient: KubeClient over podid::http (Beast + OpenSSL). JSON requests with a deadline each, bearer
// token from a TokenSource (re-read on 401, then the request is retried once), client certificates through
// the TLS config, keep-alive connection reuse, and one dedicated connection per watch.
//
// Thread-safety and lifetime: as KubeClient; the executor must be single-threaded (or a strand).

#include <boost/asio/any_io_executor.hpp>
#include <memory>

#include "core/http/http_client.hpp"
#include "watch/cluster_config.hpp"
#include "watch/kube_client.hpp"
#include "watch/token_source.hpp"

namespace podid::watch {

struct KubeClientOptions {
  std::chrono::milliseconds request_timeout{std::chrono::seconds(30)};
  std::string user_agent{"podid/0.1"};
};

class HttpKubeClient final : public KubeClient {
 public:
  [[nodiscard]] static core::Result<std::unique_ptr<HttpKubeClient>> create(
      boost::asio::any_io_executor executor, const ClusterConfig& config, KubeClientOptions options = {});

  [[nodiscard]] boost::asio::awaitable<core::Result<boost::json::object>> get(const ResourceKind& kind,
                                                                              std::string ns,
                                                                              std::string name) override;
  [[nodiscard]] boost::asio::awaitable<core::Result<ObjectList>> list(const ResourceKind& kind,
                                                                      std::string ns,
                                                                      ListOptions options) override;
  [[nodiscard]] boost::asio::awaitable<core::Result<boost::json::object>> create(
      const ResourceKind& kind, std::string ns, boost::json::object object) override;
  [[nodiscard]] boost::asio::awaitable<core::Result<boost::json::object>> update(
      const ResourceKind& kind, std::string ns, boost::json::object object) override;
  [[nodiscard]] boost::asio::awaitable<core::Result<boost::json::object>> update_status(
      const ResourceKind& kind, std::string ns, boost::json::object object) override;
  [[nodiscard]] boost::asio::awaitable<core::Result<boost::json::object>> patch(
      const ResourceKind& kind, std::string ns, std::string name, PatchType type, boost::json::value patch,
      PatchOptions options) override;
  [[nodiscard]] boost::asio::awaitable<core::Result<boost::json::object>> remove(
      const ResourceKind& kind, std::string ns, std::string name, DeleteOptions options) override;
  [[nodiscard]] boost::asio::awaitable<core::Status> watch(const ResourceKind& kind, std::string ns,
                                                           WatchOptions options,
                                                           WatchHandler on_event) override;

  [[nodiscard]] http::HttpClient& http() noexcept { return *http_; }
  [[nodiscard]] TokenSource& tokens() noexcept { return tokens_; }

 private:
  HttpKubeClient(std::unique_ptr<http::HttpClient> http, std::string server, TokenSource tokens,
                 KubeClientOptions options);
  [[nodiscard]] core::Result<http::Request> make_request(std::string method, const std::string& target,
                                                         std::string body, std::string_view content_type);
  [[nodiscard]] boost::asio::awaitable<core::Result<http::Response>> send(std::string method,
                                                                          std::string target,
                                                                          std::string body,
                                                                          std::string content_type);
  [[nodiscard]] boost::asio::awaitable<core::Result<boost::json::object>> object_call(
      std::string method, std::string target, std::string body, std::string content_type);

  std::unique_ptr<http::HttpClient> http_;
  std::string server_;
  TokenSource tokens_;
  KubeClientOptions options_;
};

}  // namespace podid::watch
