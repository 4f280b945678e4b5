#pragma once
// InterceptionLoop: keeps the node's interception rules equal to what the current NodeSnapshot needs. Each
// live pod of the snapshot (not host-network, with an IP) is bound to the interface its route names
// (pod_routes.hpp), so only its own packets are redirected to the node proxy; pods without a directly
// connected route stay unbound (their metadata traffic is rejected: fail closed) and are counted. A pod whose
// route names a bridge (kubenet, Azure CNI bridge mode) is bound to the bridge and its own port of it, which
// the CNI cache names (cni_cache.hpp); without a known port it stays unbound too (fail closed, counted as
// unported) unless `bridge_only` restores the weaker binding to the bridge alone.
//   ensure_now() once at start (the main waits for it before it reports ready), then run() re-ensures on
//   every snapshot change and every `interval` (repairing tampering); stop() ends run(); remove() deletes
//   the rules (SIGTERM).
// Given a ConntrackTable, the first successful install is followed by a flush of the conntrack entries of
// TCP connections to the metadata endpoint (conntrack_table.hpp says why). A failed flush is logged and
// counted but does not fail ensure_now(): the guard chain (reject_unbound) already rejects what the flush
// would have sent back through the rules, and failing the start would take the rules down with the process.
// Every later check retries the flush until it has succeeded once.
// Thread-safety: everything on one single-threaded executor; create it on that executor's thread.
// Lifetime: the rules, the source and the log sink outlive it; run() must have returned (after stop())
// before it is destroyed.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/logger.hpp"
#include "core/result.hpp"
#include "nodeproxy/cni_cache.hpp"
#include "nodeproxy/iptables/conntrack_table.hpp"
#include "nodeproxy/iptables/interception_rules.hpp"
#include "nodeproxy/node_snapshot.hpp"
#include "nodeproxy/pod_routes.hpp"
#include "nodeproxy/snapshot_changes.hpp"

namespace podid::nodeproxy {

struct InterceptionOptions {
  iptables::Endpoint metadata{{0xA9FEA9FEu}, 80};  // 169.254.169.254:80
  iptables::Endpoint proxy;                        // where the node proxy listens (the DNAT target)
  std::chrono::milliseconds interval{std::chrono::seconds(60)};
  // A bridged pod whose port is unknown is bound to the bridge alone (any pod on the bridge can spoof it)
  // instead of left unbound. Off by default (--bridge-port-required).
  bool bridge_only{false};
  // The backend matches bridge ports with physdev (legacy), which sees them only while
  // net.bridge.bridge-nf-call-iptables is 1: the loop then reports bridged bindings it cannot enforce.
  bool physdev_needs_br_netfilter{false};
};

struct InterceptionCounters {
  std::uint64_t ensures{0};
  std::uint64_t changes{0};   // ensures that changed the installed rules (first install, repairs)
  std::uint64_t failures{0};  // ensures that failed
  std::size_t bound_pods{0};
  std::size_t unrouted_pods{0};        // live pods left unbound: no directly connected route to their IP
  std::size_t bridged_pods{0};         // bound to a bridge and their port of it
  std::size_t unported_pods{0};        // on a bridge, port unknown: unbound (or bridge-only with bridge_only)
  bool br_netfilter_off{false};        // bridged bindings exist but physdev cannot see ports (see options)
  bool installed{false};               // the last ensure succeeded
  core::Seq seq{0};                    // the snapshot the installed rules reflect
  bool conntrack_flushed{false};       // the flush after the first install succeeded
  std::uint64_t conntrack_deleted{0};  // conntrack entries it deleted
  std::uint64_t conntrack_failures{0};  // flushes that failed
};

struct DesiredRules {
  iptables::RuleSpec spec;
  std::vector<std::string> unrouted;  // "ns/name" of pods left unbound
  std::vector<std::string> unported;  // "ns/name" of bridged pods whose port is unknown
};

// Pure: the rule spec for a snapshot, the node's routes and its bridges (none: no interface is a bridge).
[[nodiscard]] DesiredRules desired_rules(const NodeSnapshot& snapshot, const std::vector<IpRoute>& routes,
                                         const InterceptionOptions& options, const BridgePorts& bridges = {});

class InterceptionLoop {
 public:
  using RouteReader = std::function<core::Result<std::string>()>;   // /proc/net/route's text
  using BridgeReader = std::function<core::Result<BridgePorts>()>;  // sysfs and the CNI cache

  // `conntrack`: null for no flush; else it outlives the loop. `bridges`: empty for none (no bridges).
  InterceptionLoop(const boost::asio::any_io_executor& executor, iptables::InterceptionRules& rules,
                   SnapshotSource& snapshots, RouteReader routes, InterceptionOptions options,
                   core::Logger logger, iptables::ConntrackTable* conntrack = nullptr,
                   BridgeReader bridges = {});
  InterceptionLoop(const InterceptionLoop&) = delete;
  InterceptionLoop& operator=(const InterceptionLoop&) = delete;

  [[nodiscard]] core::Status ensure_now();
  [[nodiscard]] boost::asio::awaitable<void> run();
  void stop();
  [[nodiscard]] core::Status remove();
  [[nodiscard]] const InterceptionCounters& counters() const noexcept { return counters_; }

 private:
  void flush_conntrack();
  void report_bridges(const DesiredRules& desired, const BridgePorts& bridges);

  iptables::InterceptionRules& rules_;
  iptables::ConntrackTable* conntrack_;
  SnapshotSource& snapshots_;
  RouteReader routes_;
  BridgeReader bridges_;
  InterceptionOptions options_;
  core::Logger logger_;
  boost::asio::steady_timer timer_;
  SnapshotChanges changes_;
  bool stopping_{false};
  std::size_t logged_unrouted_{0};
  std::size_t logged_unported_{0};
  std::size_t logged_unreadable_{0};
  InterceptionCounters counters_;
};

}  // namespace podid::nodeproxy
