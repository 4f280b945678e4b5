#include "integration/nodeproxy/proxy_env.hpp"

#include <curl/curl.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json/parse.hpp>
#include <future>

namespace podid::testing {

void LockedSink::write(core::LogLevel, std::string_view line) {
  std::lock_guard lock(mu_);
  lines_.emplace_back(line);
}

std::vector<std::string> LockedSink::lines() const {
  std::lock_guard lock(mu_);
  return lines_;
}

RunningProxy::RunningProxy(nodeproxy::NodeProxyOptions options, nodeproxy::SnapshotSource& source,
                           nodeproxy::SecretReader& secrets, const Spawn& spawn)
    : guard_(io_.get_executor()) {
  std::promise<void> started;
  auto body = [&, options]() mutable {
    auto created = nodeproxy::NodeProxy::create(io_.get_executor(), options, source, secrets, clock_,
                                                core::Logger(sink_, clock_, "nodeproxy"));
    if (created) {
      proxy_ = std::move(*created);
      if (auto st = proxy_->start(); !st) error_ = st.error().describe();
      port_ = proxy_->port();
      if (options.metrics != nullptr) start_metrics(*options.metrics, options.listen_address);
    } else {
      error_ = created.error().describe();
    }
    started.set_value();
    io_.run();
  };
  thread_ = spawn ? spawn(body) : std::thread(body);
  started.get_future().wait();
}

RunningProxy::~RunningProxy() {
  if (proxy_) {
    auto stopped = boost::asio::co_spawn(io_, proxy_->stop(), boost::asio::use_future);
    stopped.wait();
  }
  if (metrics_) {
    auto stopped = boost::asio::co_spawn(io_, metrics_->stop(), boost::asio::use_future);
    stopped.wait();
  }
  guard_.reset();
  boost::asio::post(io_, [this] { proxy_.reset(); });
  thread_.join();
}

void RunningProxy::start_metrics(const core::MetricsRegistry& registry, const std::string& address) {
  http::ServerOptions so;
  so.address = address;
  so.port = 0;
  auto created = http::HttpServer::create(
      io_.get_executor(), so, [&registry](http::Request r) { return serve_metrics(registry, std::move(r)); });
  if (!created) {
    error_ = created.error().describe();
    return;
  }
  metrics_ = std::move(*created);
  metrics_->start();
  metrics_port_ = metrics_->port();
}

boost::asio::awaitable<http::Response> RunningProxy::serve_metrics(const core::MetricsRegistry& registry,
                                                                   http::Request request) {
  co_return nodeproxy::metrics_page(registry, request);
}

nodeproxy::TokenCacheCounters RunningProxy::cache_counters() {
  std::promise<nodeproxy::TokenCacheCounters> out;
  boost::asio::post(io_, [&] { out.set_value(*proxy_->cache_counters()); });
  return out.get_future().get();
}

namespace {

std::size_t collect(char* data, std::size_t size, std::size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

std::size_t header_line(char* data, std::size_t size, std::size_t n, void* user) {
  const std::string line(data, size * n);
  const std::string name = "retry-after:";
  if (line.size() > name.size() && core::iequals(line.substr(0, name.size()), name)) {
    auto value = line.substr(name.size());
    value.erase(0, value.find_first_not_of(' '));
    value.erase(value.find_last_not_of("\r\n ") + 1);
    *static_cast<std::string*>(user) = value;
  }
  return size * n;
}

}  // namespace

ImdsReply curl_get(const std::string& url, const std::string& source_ip, bool metadata) {
  ImdsReply reply;
  CURL* curl = curl_easy_init();
  curl_slist* headers = nullptr;
  if (metadata) headers = curl_slist_append(headers, "Metadata: true");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 15000L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, header_line);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &reply.header_retry_after);
  const std::string iface = "host!" + source_ip;
  if (!source_ip.empty()) curl_easy_setopt(curl, CURLOPT_INTERFACE, iface.c_str());
  const CURLcode rc = curl_easy_perform(curl);
  if (rc == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
  } else {
    reply.curl_error = curl_easy_strerror(rc);
  }
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return reply;
}

}  // namespace podid::testing
