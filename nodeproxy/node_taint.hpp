#pragma once
// Removing the node proxy's readiness taint from its own Node, so that workloads are scheduled on a node
// only once its interception works (issue 8, start-up race). Nodes register with the taint (kubelet
// --register-with-taints=<key>=:NoSchedule, or the node pool's taints); the node proxy removes it when its
// replica has synced and its rules are in place.
//
// The removal is a JSON patch that tests the taint's key at its index and the Node's resourceVersion, so
// it never removes another taint that moved into that place; a conflict (409) or a failed test (422) reads
// the Node again and retries, up to `attempts` times. A taint already absent is success.
// Thread-safety and lifetime: those of the KubeClient, which outlives the call.

#include <boost/asio/awaitable.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <optional>
#include <string>

#include "core/result.hpp"
#include "watch/kube_client.hpp"

namespace podid::nodeproxy {

enum class TaintRemoval { removed, absent };

// The JSON patch removing the first taint with `key` from `node`, or nothing when the Node has none (pure).
[[nodiscard]] std::optional<boost::json::array> taint_removal_patch(const boost::json::object& node,
                                                                    std::string_view key);

[[nodiscard]] boost::asio::awaitable<core::Result<TaintRemoval>> remove_node_taint(watch::KubeClient& kube,
                                                                                   std::string node,
                                                                                   std::string key,
                                                                                   int attempts = 5);

}  // namespace podid::nodeproxy
