#include "unit/watch/memory_kube_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace podid::testing {
namespace asio = boost::asio;
namespace json = boost::json;
using watch::WatchEventType;

json::object MemoryKubeClient::make(const std::string& name, const std::string& value) const {
  return json::object{
      {"metadata", {{"name", name}, {"namespace", "ns"}, {"resourceVersion", std::to_string(rv_)}}},
      {"data", {{"value", value}}}};
}

void MemoryKubeClient::record(WatchEventType type, json::object object) {
  history_.push_back(Change{rv_, type, std::move(object)});
  wake_.cancel();
}

void MemoryKubeClient::put(const std::string& name, const std::string& value) {
  ++rv_;
  const auto type = objects_.contains(name) ? WatchEventType::modified : WatchEventType::added;
  objects_[name] = make(name, value);
  record(type, objects_[name]);
}

void MemoryKubeClient::erase(const std::string& name) {
  ++rv_;
  auto object = objects_.at(name);
  object["metadata"].as_object()["resourceVersion"] = std::to_string(rv_);
  objects_.erase(name);
  record(WatchEventType::deleted, std::move(object));
}

void MemoryKubeClient::bookmark() {
  ++rv_;
  record(WatchEventType::bookmark, json::object{{"metadata", {{"resourceVersion", std::to_string(rv_)}}}});
}

void MemoryKubeClient::compact() {
  history_.clear();
  oldest_ = rv_ + 1;
  expired_ = true;
  wake_.cancel();
}

void MemoryKubeClient::end_watch() {
  ended_ = true;
  wake_.cancel();
}

asio::awaitable<core::Result<watch::ObjectList>> MemoryKubeClient::list(const watch::ResourceKind&,
                                                                        std::string,
                                                                        watch::ListOptions options) {
  calls_.push_back("list limit=" + std::to_string(options.limit) + " continue=" + options.continue_token);
  if (!list_failures.empty()) {
    auto error = list_failures.front();
    list_failures.pop_front();
    co_return error;
  }
  watch::ObjectList out;
  out.resource_version = std::to_string(rv_);
  const auto start = options.continue_token.empty() ? 0 : std::stoul(options.continue_token);
  std::size_t index = 0;
  for (const auto& [name, object] : objects_) {
    if (index >= start &&
        (options.limit == 0 || out.items.size() < static_cast<std::size_t>(options.limit))) {
      out.items.push_back(object);
    }
    ++index;
  }
  if (options.limit > 0 && start + out.items.size() < objects_.size()) {
    out.continue_token = std::to_string(start + out.items.size());
  }
  co_return out;
}

asio::awaitable<core::Status> MemoryKubeClient::watch(const watch::ResourceKind&, std::string,
                                                      watch::WatchOptions options, WatchHandler on_event) {
  calls_.push_back("watch rv=" + options.resource_version);
  expired_ = false;
  ended_ = false;
  std::int64_t seen = options.resource_version.empty() ? 0 : std::stoll(options.resource_version);
  if (seen + 1 < oldest_) co_return core::make_error(core::ErrorCode::gone, "too old resource version");
  for (;;) {
    if (expired_) co_return core::make_error(core::ErrorCode::gone, "too old resource version (in-band)");
    for (const auto& change : history_) {
      if (change.rv <= seen) continue;
      seen = change.rv;
      PODID_CO_TRY(on_event(watch::WatchEvent{change.type, change.object, std::to_string(change.rv)}));
    }
    if (ended_) co_return core::ok();
    wake_.expires_at(asio::steady_timer::time_point::max());
    auto [ec] = co_await wake_.async_wait(asio::as_tuple(asio::use_awaitable));
    (void)ec;  // woken by a change, or cancelled: tell them apart through the cancellation state
    auto cs = co_await asio::this_coro::cancellation_state;
    if (cs.cancelled() != asio::cancellation_type::none) {
      co_return core::make_error(core::ErrorCode::cancelled, "watch cancelled");
    }
  }
}

namespace {
core::Error unsupported() {
  return core::make_error(core::ErrorCode::invalid, "MemoryKubeClient supports list and watch only");
}
}  // namespace

asio::awaitable<core::Result<json::object>> MemoryKubeClient::get(const watch::ResourceKind&, std::string,
                                                                  std::string) {
  co_return unsupported();
}
asio::awaitable<core::Result<json::object>> MemoryKubeClient::create(const watch::ResourceKind&, std::string,
                                                                     json::object) {
  co_return unsupported();
}
asio::awaitable<core::Result<json::object>> MemoryKubeClient::update(const watch::ResourceKind&, std::string,
                                                                     json::object) {
  co_return unsupported();
}
asio::awaitable<core::Result<json::object>> MemoryKubeClient::update_status(const watch::ResourceKind&,
                                                                            std::string, json::object) {
  co_return unsupported();
}
asio::awaitable<core::Result<json::object>> MemoryKubeClient::patch(const watch::ResourceKind&, std::string,
                                                                    std::string, watch::PatchType,
                                                                    json::value, watch::PatchOptions) {
  co_return unsupported();
}
asio::awaitable<core::Result<json::object>> MemoryKubeClient::remove(const watch::ResourceKind&, std::string,
                                                                     std::string, watch::DeleteOptions) {
  co_return unsupported();
}

}  // namespace podid::testing
