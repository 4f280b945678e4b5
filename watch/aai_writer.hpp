#pragma once
// AaiWriter: executes the planner's AzureAssignedIdentity writes (core::AaiWrite) through a KubeClient, as
// objects users of the original recognise: name and namespace from the plan, label `nodename`, finalizer
// azureassignedidentity.finalizers.aadpodidentity.k8s.io, spec.azureIdentityRef / spec.azureBindingRef as
// embedded snapshots (apiVersion, kind, metadata, spec), spec.pod / podNamespace / nodename, and
// status.status / reason through the status subresource (create drops status, so a create is POST + status).
// A conflict (409) re-reads the object and retries (bounded); an AlreadyExists create becomes an update; a
// delete first removes our finalizer, then deletes; 404 on delete is success. Every successful write is
// appended as AssignedIdentityWritten (the object as stored, with its new resourceVersion) through the sink.
//
// Thread-safety: one executor, like its KubeClient. Lifetime: client, sink, clock outlive the writer.

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <functional>
#include <span>
#include <string_view>

#include "core/clock.hpp"
#include "core/events.hpp"
#include "core/logger.hpp"
#include "core/plan.hpp"
#include "core/state.hpp"
#include "watch/kube_client.hpp"

namespace podid::watch {

using EventSink = std::function<core::Status(std::span<const core::Event>)>;

inline constexpr std::string_view kAaiFinalizer = "azureassignedidentity.finalizers.aadpodidentity.k8s.io";
inline constexpr std::string_view kNodeNameLabel = "nodename";

// The AzureAssignedIdentity object for `assigned` (without status), with snapshots of its identity and
// binding as `state` holds them (a snapshot holds at least apiVersion, kind and metadata).
[[nodiscard]] boost::json::object aai_object(const core::AssignedIdentity& assigned,
                                             const core::State& state);

// The embedded snapshots on their own (used by aai_object).
[[nodiscard]] boost::json::object identity_snapshot(const core::IdentityKey& key, const core::State& state);
[[nodiscard]] boost::json::object binding_snapshot(const core::BindingKey& key, const core::State& state);

struct AaiWriterOptions {
  int max_conflict_retries{5};
};

struct AaiWriterCounters {
  std::uint64_t created{0};
  std::uint64_t updated{0};
  std::uint64_t status_writes{0};
  std::uint64_t deleted{0};
  std::uint64_t conflicts{0};  // 409s answered with a re-read
  std::uint64_t failures{0};
};

class AaiWriter {
 public:
  AaiWriter(KubeClient& client, EventSink sink, const core::Clock& clock, core::Logger logger,
            AaiWriterOptions options = {});
  AaiWriter(const AaiWriter&) = delete;
  AaiWriter& operator=(const AaiWriter&) = delete;

  // Executes one write. `object` is aai_object(write.assigned, state) for create and update (ignored for
  // status and remove). Errors are the KubeClient's or the sink's; nothing is appended then.
  [[nodiscard]] boost::asio::awaitable<core::Status> write(core::AaiWrite write, boost::json::object object);

  [[nodiscard]] const AaiWriterCounters& counters() const noexcept { return counters_; }

 private:
  [[nodiscard]] boost::asio::awaitable<core::Result<boost::json::object>> upsert(
      const core::AssignedIdentity& a, boost::json::object desired, bool create_first);
  [[nodiscard]] boost::asio::awaitable<core::Result<boost::json::object>> put_status(
      const core::AssignedIdentity& a);
  [[nodiscard]] boost::asio::awaitable<core::Status> remove(const core::AssignedIdentity& a);
  [[nodiscard]] core::Status written(core::WriteAction action, core::AssignedIdentity a,
                                     const boost::json::object& stored);

  KubeClient& client_;
  EventSink sink_;
  const core::Clock& clock_;
  core::Logger logger_;
  AaiWriterOptions options_;
  AaiWriterCounters counters_;
};

}  // namespace podid::watch
