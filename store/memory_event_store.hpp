#pragma once
// MemoryEventStore: a complete in-memory EventStore with the same semantics as RocksEventStore (it
// passes the same contract suite), for pure tests and replays that need no disk. Retention still writes
// its export file to disk. Thread-safe like every EventStore.

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "store/event_store.hpp"

namespace podid::store {

class MemoryEventStore final : public EventStore {
 public:
  MemoryEventStore() = default;

  [[nodiscard]] core::Result<Seq> append(std::span<const NewEvent> batch,
                                         std::span<const Cursor> cursors = {}) override;
  [[nodiscard]] core::Result<std::vector<EventRecord>> read(Seq from, std::size_t limit) const override;
  [[nodiscard]] core::Result<std::vector<EventRecord>> read_subject(std::string_view subject, Seq from,
                                                                    std::size_t limit) const override;
  [[nodiscard]] Seq last_seq() const override;
  [[nodiscard]] Seq first_seq() const override;
  [[nodiscard]] core::Result<std::optional<std::string>> cursor(std::string_view name) const override;
  [[nodiscard]] core::Status put_checkpoint(const Checkpoint& cp) override;
  [[nodiscard]] core::Result<std::optional<Checkpoint>> latest_checkpoint() const override;
  [[nodiscard]] core::Result<RetentionReport> apply_retention(const RetentionPolicy& p, std::int64_t now_ms,
                                                              const std::string& export_dir) override;
  [[nodiscard]] core::Status export_jsonl(Seq from, Seq to, std::ostream& out) const override;

 private:
  // Resolves `from` per the read() contract; gone when it points before first_. Caller holds mu_.
  [[nodiscard]] core::Result<Seq> start_at(Seq from) const;
  void drop_prefix(Seq through, std::uint64_t bytes);

  std::mutex write_mu_;             // serialises writers; taken before mu_
  mutable std::shared_mutex mu_;    // guards everything below
  std::deque<EventRecord> events_;  // events_[i].seq == first_ + i
  Seq first_{1};
  Seq last_{0};
  std::uint64_t bytes_{0};                                         // stored_size() of events_
  std::map<std::string, std::vector<Seq>, std::less<>> subjects_;  // ascending seqs per subject
  std::map<std::string, std::string, std::less<>> cursors_;
  std::map<Seq, std::string> checkpoints_;
};

}  // namespace podid::store
