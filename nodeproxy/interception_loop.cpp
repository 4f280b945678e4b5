#include "nodeproxy/interception_loop.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <set>

namespace podid::nodeproxy {
namespace asio = boost::asio;

DesiredRules desired_rules(const NodeSnapshot& snapshot, const std::vector<IpRoute>& routes,
                           const InterceptionOptions& options, const BridgePorts& bridges) {
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
    std::string port;
    if (bridges.is_bridge(*iface)) {
      auto found = bridge_port(bridges, *iface, *ip);
      if (!found || found->size() > iptables::kMaxInterfaceName) {
        out.unported.push_back(pod.key.ns + "/" + pod.key.name);
        if (!options.bridge_only) continue;  // fail closed: the guard rejects it
      } else {
        port = std::move(*found);
      }
    }
    out.spec.bindings.push_back({*ip, std::move(*iface), std::move(port)});
  }
  return out;
}

InterceptionLoop::InterceptionLoop(const asio::any_io_executor& executor, iptables::InterceptionRules& rules,
                                   SnapshotSource& snapshots, RouteReader routes, InterceptionOptions options,
                                   core::Logger logger, iptables::ConntrackTable* conntrack,
                                   BridgeReader bridges)
    : rules_(rules),
      conntrack_(conntrack),
      snapshots_(snapshots),
      routes_(std::move(routes)),
      bridges_(std::move(bridges)),
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
  BridgePorts bridges;
  if (bridges_) {
    auto read = bridges_();
    if (!read) return fail(read.error());
    bridges = std::move(*read);
  }
  const auto snapshot = snapshots_.current();
  auto desired = desired_rules(*snapshot, *routes, options_, bridges);
  report_bridges(desired, bridges);
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

void InterceptionLoop::report_bridges(const DesiredRules& desired, const BridgePorts& bridges) {
  const auto& bindings = desired.spec.bindings;
  counters_.bridged_pods = static_cast<std::size_t>(
      std::count_if(bindings.begin(), bindings.end(),
                    [](const iptables::PodBinding& b) { return !b.bridge_port.empty(); }));
  counters_.unported_pods = desired.unported.size();
  if (desired.unported.size() != logged_unported_) {
    logged_unported_ = desired.unported.size();
    if (!desired.unported.empty())
      logger_.warn(options_.bridge_only ? "Bridged pods bound to the bridge only: port unknown."
                                        : "Bridged pods left unbound: port unknown.",
                   {{"pods", desired.unported.size()}, {"first", desired.unported.front().c_str()}});
  }
  if (bridges.unreadable.size() != logged_unreadable_) {
    logged_unreadable_ = bridges.unreadable.size();
    if (!bridges.unreadable.empty())
      logger_.warn("CNI cache files skipped.",
                   {{"files", bridges.unreadable.size()}, {"first", bridges.unreadable.front().c_str()}});
  }
  const bool off = options_.physdev_needs_br_netfilter && counters_.bridged_pods > 0 &&
                   bridges.bridge_nf_call_iptables != true;
  if (off && !counters_.br_netfilter_off)
    logger_.error(
        "Bridged pods cannot reach the node proxy: net.bridge.bridge-nf-call-iptables is not 1 (their "
        "requests are rejected).",
        {{"pods", counters_.bridged_pods}});
  counters_.br_netfilter_off = off;
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
