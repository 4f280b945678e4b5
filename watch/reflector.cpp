#include "watch/reflector.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace podid::watch {
namespace asio = boost::asio;
namespace json = boost::json;
using core::ErrorCode;

namespace {

std::string key_of(const json::object& object) {
  const auto* meta = object.if_contains("metadata");
  if (meta == nullptr || !meta->is_object()) return {};
  const auto& m = meta->get_object();
  const auto field = [&m](std::string_view k) {
    const auto* v = m.if_contains(k);
    return v != nullptr && v->is_string() ? std::string{v->get_string()} : std::string{};
  };
  return field("namespace") + "/" + field("name");
}

// What the reflector keeps of an object it emitted: its identity and version, enough to tell a relist's
// changes and to emit a delete a relist found (the full objects of 10,000 pods and their
// AzureAssignedIdentities were the controller's largest use of memory).
json::object slim(const json::object& object) {
  json::object meta;
  if (const auto* m = object.if_contains("metadata"); m != nullptr && m->is_object())
    for (const auto* k : {"name", "namespace", "uid", "resourceVersion"})
      if (const auto* v = m->get_object().if_contains(k); v != nullptr && v->is_string()) meta[k] = *v;
  return json::object{{"metadata", std::move(meta)}};
}

bool fatal(const core::Error& error) {
  return error.code == ErrorCode::permission || error.code == ErrorCode::invalid ||
         error.code == ErrorCode::cancelled;
}

}  // namespace

Reflector::Reflector(KubeClient& client, ResourceKind kind, ReflectorOptions options, EventHandler on_event,
                     SyncedHandler on_synced)
    : client_(client),
      kind_(std::move(kind)),
      options_(std::move(options)),
      on_event_(std::move(on_event)),
      on_synced_(std::move(on_synced)),
      backoff_(options_.backoff_initial) {}

asio::awaitable<core::Status> Reflector::run() {
  bool need_list = options_.resume_from.empty();
  rv_ = options_.resume_from;
  for (;;) {
    auto cs = co_await asio::this_coro::cancellation_state;
    if (cs.cancelled() != asio::cancellation_type::none) {
      co_return core::make_error(ErrorCode::cancelled, "Reflector cancelled");
    }
    core::Status step = core::ok();
    if (need_list) {
      step = co_await relist();
    } else {
      step = co_await watch_once();
    }
    if (step) {
      if (need_list) backoff_ = options_.backoff_initial;
      need_list = false;
      continue;  // listed, or the watch ended cleanly: (re)watch from the last RV at once
    }
    ++counters_.errors;
    if (step.error().code == ErrorCode::gone) {
      ++counters_.relists_after_gone;
      need_list = true;  // the RV expired: relist (consistent) and diff against what we emitted
      continue;
    }
    if (fatal(step.error())) co_return step;
    auto paused = co_await pause(step.error());
    if (!paused) co_return paused;
  }
}

asio::awaitable<core::Status> Reflector::relist() {
  ++counters_.lists;
  ListOptions list_options;
  list_options.label_selector = options_.label_selector;
  list_options.field_selector = options_.field_selector;
  list_options.limit = options_.page_size;
  auto listed = co_await list_all(client_, kind_, options_.ns, std::move(list_options));
  if (!listed) co_return listed.error();
  std::map<std::string, json::object> fresh;
  for (auto& item : listed->items) {
    auto key = key_of(item);
    const auto rv = resource_version_of(item);
    auto old = known_.find(key);
    if (old == known_.end()) {
      on_event_(WatchEventType::added, item, rv);
    } else if (resource_version_of(old->second) != rv) {
      on_event_(WatchEventType::modified, item, rv);
    }
    fresh.emplace(std::move(key), slim(item));
  }
  for (const auto& [key, object] : known_) {
    if (!fresh.contains(key)) on_event_(WatchEventType::deleted, object, resource_version_of(object));
  }
  known_ = std::move(fresh);
  rv_ = listed->resource_version;
  if (on_synced_) on_synced_(rv_);
  co_return core::ok();
}

core::Status Reflector::apply(WatchEvent event) {
  if (!event.resource_version.empty()) rv_ = event.resource_version;
  if (event.type == WatchEventType::bookmark) {
    ++counters_.bookmarks;
    return core::ok();
  }
  ++counters_.events;
  auto key = key_of(event.object);
  on_event_(event.type, event.object, event.resource_version);
  if (event.type == WatchEventType::deleted) {
    known_.erase(key);
  } else {
    known_[std::move(key)] = slim(event.object);
  }
  return core::ok();
}

asio::awaitable<core::Status> Reflector::watch_once() {
  ++counters_.watches;
  WatchOptions watch_options;
  watch_options.resource_version = rv_;
  watch_options.allow_bookmarks = true;
  watch_options.label_selector = options_.label_selector;
  watch_options.field_selector = options_.field_selector;
  watch_options.idle_timeout = options_.idle_timeout;
  const auto lo = options_.watch_timeout_min.count();
  const auto hi = std::max(lo, options_.watch_timeout_max.count());
  watch_options.timeout = std::chrono::seconds(std::uniform_int_distribution<std::int64_t>{lo, hi}(rng_));
  const auto before = counters_.events + counters_.bookmarks;
  auto status = co_await client_.watch(kind_, options_.ns, std::move(watch_options),
                                       [this](WatchEvent event) { return apply(std::move(event)); });
  if (counters_.events + counters_.bookmarks > before)
    backoff_ = options_.backoff_initial;  // it made progress
  co_return status;
}

asio::awaitable<core::Status> Reflector::pause(const core::Error& error) {
  std::chrono::milliseconds wait = backoff_;
  if (error.retry_after) {
    wait = *error.retry_after;
  } else {
    const auto jitter = std::uniform_int_distribution<std::int64_t>{0, backoff_.count()}(rng_);
    wait = backoff_ + std::chrono::milliseconds(jitter);
    backoff_ = std::min(backoff_ * 2, options_.backoff_max);
  }
  asio::steady_timer timer{co_await asio::this_coro::executor, wait};
  auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  if (ec) co_return core::make_error(ErrorCode::cancelled, "Reflector cancelled during backoff");
  co_return core::ok();
}

}  // namespace podid::watch
