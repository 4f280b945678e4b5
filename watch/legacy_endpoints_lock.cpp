#include "watch/legacy_endpoints_lock.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "core/model.hpp"

namespace podid::watch {

namespace asio = boost::asio;
namespace json = boost::json;
using core::ErrorCode;

namespace {

const ResourceKind& endpoints() {
  static const ResourceKind kind{"", "v1", "endpoints", "Endpoints", true};
  return kind;
}

std::string annotation_of(const json::object& o) {
  const auto* m = o.if_contains("metadata");
  const auto* a = m != nullptr && m->is_object() ? m->get_object().if_contains("annotations") : nullptr;
  const auto* v = a != nullptr && a->is_object() ? a->get_object().if_contains(kLeaderAnnotation) : nullptr;
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string{};
}

void set_annotation(json::object& o, const std::string& value) {
  auto& m = o["metadata"];
  if (!m.is_object()) m = json::object{};
  auto& a = m.as_object()["annotations"];
  if (!a.is_object()) a = json::object{};
  a.as_object()[kLeaderAnnotation] = value;
}

std::int64_t int_of(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) return 0;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<std::int64_t>(v->get_uint64());
  return 0;
}

std::string str_of(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string{};
}

}  // namespace

std::string_view to_string(LegacyLockMode mode) noexcept {
  switch (mode) {
    case LegacyLockMode::off:
      return "off";
    case LegacyLockMode::honour:
      return "honour";
    case LegacyLockMode::hold:
      return "hold";
  }
  return "off";
}

core::Result<LegacyLockMode> parse_legacy_lock_mode(std::string_view text) {
  const auto t = core::to_lower(text);
  if (t == "off") return LegacyLockMode::off;
  if (t == "honour" || t == "honor") return LegacyLockMode::honour;
  if (t == "hold") return LegacyLockMode::hold;
  return core::make_error(ErrorCode::invalid,
                          "expected hold, honour or off, got \"" + std::string(text) + "\"");
}

core::Result<LegacyLockRecord> parse_legacy_record(std::string_view annotation) {
  boost::system::error_code ec;
  auto value = json::parse(annotation, ec);
  if (ec || !value.is_object())
    return core::make_error(ErrorCode::invalid, std::string(kLeaderAnnotation) +
                                                    " is not a leader election record: " +
                                                    std::string(annotation.substr(0, 200)));
  const auto& o = value.get_object();
  return LegacyLockRecord{str_of(o, "holderIdentity"), int_of(o, "leaseDurationSeconds"),
                          str_of(o, "acquireTime"), str_of(o, "renewTime"), int_of(o, "leaderTransitions")};
}

std::string serialize_legacy_record(const LegacyLockRecord& r) {
  return json::serialize(json::object{{"holderIdentity", r.holder},
                                      {"leaseDurationSeconds", r.duration_seconds},
                                      {"acquireTime", r.acquire_time},
                                      {"renewTime", r.renew_time},
                                      {"leaderTransitions", r.transitions}});
}

LegacyEndpointsLock::LegacyEndpointsLock(KubeClient& client, const core::Clock& wall,
                                         const core::Clock& monotonic, LegacyLockOptions options,
                                         std::string identity)
    : client_(client),
      wall_(wall),
      monotonic_(monotonic),
      options_(std::move(options)),
      identity_(std::move(identity)) {}

asio::awaitable<core::Result<std::optional<std::string>>> LegacyEndpointsLock::foreign_holder() {
  auto fetched = co_await client_.get(endpoints(), options_.ns, options_.name);
  if (!fetched) {
    if (fetched.error().code != ErrorCode::not_found) co_return fetched.error();
    cached_.reset();
    co_return std::optional<std::string>{};
  }
  const auto now = monotonic_.now_ms();
  auto raw = annotation_of(*fetched);
  cached_ = std::move(*fetched);
  if (!have_observed_ || raw != observed_raw_) {
    observed_raw_ = std::move(raw);
    observed_at_ = now;
    have_observed_ = true;
    observed_ = {};
    if (!observed_raw_.empty()) {
      auto record = parse_legacy_record(observed_raw_);
      if (!record) {
        have_observed_ = false;  // judged again next time; never overwritten
        co_return record.error();
      }
      observed_ = std::move(*record);
    }
  }
  if (observed_.holder.empty() || observed_.holder == identity_ ||
      observed_at_ + observed_.duration_seconds * 1000 <= now)
    co_return std::optional<std::string>{};
  co_return std::optional<std::string>{observed_.holder};
}

asio::awaitable<core::Status> LegacyEndpointsLock::hold(std::int64_t duration_seconds) {
  if (options_.mode != LegacyLockMode::hold) co_return core::ok();
  const auto now = rfc3339_seconds(wall_.now_ms());
  LegacyLockRecord want{identity_, duration_seconds, now, now, observed_.transitions};
  if (observed_.holder == identity_) {
    want.acquire_time = observed_.acquire_time;
  } else if (!observed_raw_.empty()) {  // client-go counts every change of holder
    ++want.transitions;
  }
  const auto raw = serialize_legacy_record(want);
  core::Result<json::object> written = core::make_error(ErrorCode::invalid, "not written");
  if (!cached_) {
    json::object created{{"apiVersion", "v1"},
                         {"kind", "Endpoints"},
                         {"metadata", json::object{{"name", options_.name}, {"namespace", options_.ns}}}};
    set_annotation(created, raw);
    written = co_await client_.create(endpoints(), options_.ns, std::move(created));
  } else {
    auto object = *cached_;
    set_annotation(object, raw);
    written = co_await client_.update(endpoints(), options_.ns, std::move(object));
  }
  if (!written) co_return written.error();
  cached_ = std::move(*written);
  observed_raw_ = raw;
  observed_ = want;
  observed_at_ = monotonic_.now_ms();
  have_observed_ = true;
  co_return core::ok();
}

asio::awaitable<core::Status> LegacyEndpointsLock::release() {
  if (options_.mode != LegacyLockMode::hold) co_return core::ok();
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto fetched = co_await client_.get(endpoints(), options_.ns, options_.name);
    if (!fetched) {
      if (fetched.error().code == ErrorCode::not_found) co_return core::ok();
      co_return fetched.error();
    }
    auto record = parse_legacy_record(annotation_of(*fetched));
    if (!record || record->holder != identity_) co_return core::ok();
    const auto now = rfc3339_seconds(wall_.now_ms());
    const LegacyLockRecord freed{"", 1, now, now, record->transitions};
    set_annotation(*fetched, serialize_legacy_record(freed));
    auto written = co_await client_.update(endpoints(), options_.ns, std::move(*fetched));
    if (written) {
      cached_ = std::move(*written);
      co_return core::ok();
    }
    if (written.error().code != ErrorCode::conflict) co_return written.error();
  }
  co_return core::make_error(ErrorCode::conflict, "Endpoints lock release kept conflicting");
}

}  // namespace podid::watch
