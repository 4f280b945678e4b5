#include "nodeproxy/interception_loop.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <set>

namespace podid::nodeproxy {
namespace asio = boost::asio;

DesiredRules desired_rules(const NodeSnapshot& snapshot, const std::vector<IpRoute>& routes,
                           const InterceptionOptions& options) {
  DesiredRules out;
  out.spec.metadata = options.metadata;
  out.spec.proxy = options.proxy;
  std::set<std::uint32_t> seen;
  for (const auto& pod : snapshot.pods) {
    if (pod.host_network || pod.ip.empty() || pod.phase == "Succeeded" || pod.phase == "Failed") continue;
    auto ip = iptables::Ipv4Address::parse(pod.ip);
    if (!ip || !seen.insert(ip->value).second) continue;  // IPv6 or a shared IP: nothing to bind
    auto iface = pod_interface(routes, *ip);
    if (!iface || iface->size() > iptables::kMaxInterfaceName) {
      out.unrouted.push_back(pod.key.ns + "/" + pod.key.name);
      continue;
    }
    out.spec.bindings.push_back({*ip, std::move(*iface)});
  }
  return out;
}

InterceptionLoop::InterceptionLoop(const asio::any_io_executor& executor, iptables::InterceptionRules& rules,
                                   SnapshotSource& snapshots, RouteReader routes, InterceptionOptions options,
                                   core::Logger logger, iptables::ConntrackTable* conntrack)
    : rules_(rules),
      conntrack_(conntrack),
      snapshots_(snapshots),
      routes_(std::move(routes)),
      options_(options),
      logger_(std::move(logger)),
      timer_(executor),
      changes_(executor, snapshots, [this] { timer_.cancel(); }) {}

core::Status InterceptionLoop::ensure_now() {
  ++counters_.ensures;
  const auto fail = [&](const core::Error& e) -> core::Status {
    ++counters_.failures;
    counters_.installed = false;
    logger_.error("Interception rules not ensured.", {{"error", e.describe().c_str()}});
    return e;
  };
  auto text = routes_();
  if (!text) return fail(text.error());
  auto routes = parse_proc_net_route(*text);
  if (!routes) return fail(routes.error());
  const auto snapshot = snapshots_.current();
  auto desired = desired_rules(*snapshot, *routes, options_);
  counters_.bound_pods = desired.spec.bindings.size();
  counters_.unrouted_pods = desired.unrouted.size();
  if (desired.unrouted.size() != logged_unrouted_) {
    logged_unrouted_ = desired.unrouted.size();
    if (!desired.unrouted.empty())
      logger_.warn("Pods left unbound: no directly connected route.",
                   {{"pods", desired.unrouted.size()}, {"first", desired.unrouted.front().c_str()}});
  }
  auto changed = rules_.ensure(desired.spec);
  if (!changed) return fail(changed.error());
  if (*changed) {
    ++counters_.changes;
    logger_.info("Interception rules changed.",
                 {{"bindings", desired.spec.bindings.size()}, {"seq", snapshot->seq}});
  }
  counters_.installed = true;
  counters_.seq = snapshot->seq;
  if (conntrack_ != nullptr && !counters_.conntrack_flushed) flush_conntrack();
  return core::ok();
}

void InterceptionLoop::flush_conntrack() {
  const auto destination = iptables::FlowDestination::from(options_.metadata);
  const auto where = destination.to_string();
  auto deleted = conntrack_->delete_tcp_to(destination);
  if (!deleted) {
    ++counters_.conntrack_failures;
    logger_.error("Conntrack entries not flushed.",
                  {{"destination", where.c_str()}, {"error", deleted.error().describe().c_str()}});
    return;  // the guard chain still rejects those connections; the next check retries
  }
  counters_.conntrack_flushed = true;
  counters_.conntrack_deleted += *deleted;
  logger_.info("Conntrack entries flushed.", {{"destination", where.c_str()}, {"deleted", *deleted}});
}

asio::awaitable<void> InterceptionLoop::run() {
  while (!stopping_) {
    timer_.expires_after(options_.interval);
    const auto [ec] = co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    static_cast<void>(ec);  // expired: the periodic repair; cancelled: a snapshot change or stop()
    if (stopping_) break;
    static_cast<void>(ensure_now());  // logged and counted; the next change or interval retries
  }
}

void InterceptionLoop::stop() {
  stopping_ = true;
  timer_.cancel();
}

core::Status InterceptionLoop::remove() {
  counters_.installed = false;
  return rules_.remove();
}

}  // namespace podid::nodeproxy
