#include "watch/kube_client.hpp"

namespace podid::watch {
namespace asio = boost::asio;

asio::awaitable<core::Result<ObjectList>> list_all(KubeClient& client, const ResourceKind& kind,
                                                   std::string ns, ListOptions options) {
  ObjectList all;
  for (;;) {
    auto page = co_await client.list(kind, ns, options);
    if (!page) co_return page.error();
    for (auto& item : page->items) all.items.push_back(std::move(item));
    if (all.resource_version.empty()) all.resource_version = page->resource_version;
    if (page->continue_token.empty()) break;
    options.continue_token = std::move(page->continue_token);
    options.resource_version.clear();  // a continue token carries the snapshot; RV with continue is a 400
    options.resource_version_match.clear();
  }
  co_return all;
}

}  // namespace podid::watch
