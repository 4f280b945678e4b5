#include "nodeproxy/node_taint.hpp"

#include "watch/resource.hpp"

namespace podid::nodeproxy {
namespace json = boost::json;

std::optional<json::array> taint_removal_patch(const json::object& node, std::string_view key) {
  const auto* spec = node.if_contains("spec");
  const auto* taints =
      spec != nullptr && spec->is_object() ? spec->as_object().if_contains("taints") : nullptr;
  if (taints == nullptr || !taints->is_array()) return std::nullopt;
  const auto& list = taints->as_array();
  for (std::size_t i = 0; i < list.size(); ++i) {
    const auto* k = list[i].is_object() ? list[i].as_object().if_contains("key") : nullptr;
    if (k == nullptr || !k->is_string() || k->as_string() != key) continue;
    const auto path = "/spec/taints/" + std::to_string(i);
    json::array patch;
    const auto* meta = node.if_contains("metadata");
    const auto* rv =
        meta != nullptr && meta->is_object() ? meta->as_object().if_contains("resourceVersion") : nullptr;
    if (rv != nullptr && rv->is_string())
      patch.push_back(json::object{{"op", "test"}, {"path", "/metadata/resourceVersion"}, {"value", *rv}});
    patch.push_back(json::object{{"op", "test"}, {"path", path + "/key"}, {"value", key}});
    patch.push_back(json::object{{"op", "remove"}, {"path", path}});
    return patch;
  }
  return std::nullopt;
}

boost::asio::awaitable<core::Result<TaintRemoval>> remove_node_taint(watch::KubeClient& kube,
                                                                     std::string node, std::string key,
                                                                     int attempts) {
  // Named locals only in the co_await calls below (g++ 12 mishandles temporaries there).
  const std::string cluster_scoped;
  const watch::PatchOptions options;
  core::Error last = core::make_error(core::ErrorCode::invalid, "no attempt made");
  for (int attempt = 0; attempt < attempts; ++attempt) {
    auto current = co_await kube.get(watch::kinds::nodes(), cluster_scoped, node);
    if (!current) co_return current.error();
    auto patch = taint_removal_patch(*current, key);
    if (!patch) co_return TaintRemoval::absent;
    json::value body(std::move(*patch));
    auto patched = co_await kube.patch(watch::kinds::nodes(), cluster_scoped, node, watch::PatchType::json,
                                       std::move(body), options);
    if (patched) co_return TaintRemoval::removed;
    last = patched.error();
    // A failed test op is 422 (invalid): someone changed the Node between our read and our patch.
    if (last.code != core::ErrorCode::conflict && last.code != core::ErrorCode::invalid) co_return last;
  }
  co_return last;
}

}  // namespace podid::nodeproxy
