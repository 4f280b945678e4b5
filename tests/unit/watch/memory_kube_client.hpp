#pragma once
// A small working in-memory KubeClient for one namespace of one kind, enough to drive the Reflector:
// resource versions, paged lists, watches that replay history after an RV and then wait for changes,
// history compaction (watches from older RVs fail as gone), bookmarks, injected list errors, and a call log.
// Single-threaded; one watch at a time.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <map>
#include <vector>

#include "watch/kube_client.hpp"

namespace podid::testing {

class MemoryKubeClient final : public watch::KubeClient {
 public:
  explicit MemoryKubeClient(boost::asio::any_io_executor executor) : wake_(executor) {}

  // Mutations, each a new resource version; a running watch sees them.
  void put(const std::string& name, const std::string& value);
  void erase(const std::string& name);
  void bookmark();
  // Drops all history: the running watch and any watch from an older RV fail with gone (410).
  void compact();
  // Ends the running watch cleanly (as a server-side timeout does).
  void end_watch();
  std::deque<core::Error> list_failures;  // returned by the next list() calls, in order
  [[nodiscard]] const std::vector<std::string>& calls() const { return calls_; }
  [[nodiscard]] std::string current_rv() const { return std::to_string(rv_); }

  boost::asio::awaitable<core::Result<watch::ObjectList>> list(const watch::ResourceKind& kind,
                                                               std::string ns,
                                                               watch::ListOptions options) override;
  boost::asio::awaitable<core::Status> watch(const watch::ResourceKind& kind, std::string ns,
                                             watch::WatchOptions options, WatchHandler on_event) override;
  // Not needed by the Reflector: they answer invalid.
  boost::asio::awaitable<core::Result<boost::json::object>> get(const watch::ResourceKind&, std::string,
                                                                std::string) override;
  boost::asio::awaitable<core::Result<boost::json::object>> create(const watch::ResourceKind&, std::string,
                                                                   boost::json::object) override;
  boost::asio::awaitable<core::Result<boost::json::object>> update(const watch::ResourceKind&, std::string,
                                                                   boost::json::object) override;
  boost::asio::awaitable<core::Result<boost::json::object>> update_status(const watch::ResourceKind&,
                                                                          std::string,
                                                                          boost::json::object) override;
  boost::asio::awaitable<core::Result<boost::json::object>> patch(const watch::ResourceKind&, std::string,
                                                                  std::string, watch::PatchType,
                                                                  boost::json::value,
                                                                  watch::PatchOptions) override;
  boost::asio::awaitable<core::Result<boost::json::object>> remove(const watch::ResourceKind&, std::string,
                                                                   std::string,
                                                                   watch::DeleteOptions) override;

 private:
  struct Change {
    std::int64_t rv;
    watch::WatchEventType type;
    boost::json::object object;
  };
  boost::json::object make(const std::string& name, const std::string& value) const;
  void record(watch::WatchEventType type, boost::json::object object);

  std::int64_t rv_{100};
  std::int64_t oldest_{0};  // watches from an RV below this are gone
  std::map<std::string, boost::json::object> objects_;
  std::vector<Change> history_;
  std::vector<std::string> calls_;
  bool expired_{false};
  bool ended_{false};
  boost::asio::steady_timer wake_;
};

}  // namespace podid::testing
