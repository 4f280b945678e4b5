#include "store/memory_event_store.hpp"

#include <algorithm>

#include "store/jsonl.hpp"
#include "store/record_codec.hpp"
#include "store/retention.hpp"

namespace podid::store {

core::Result<Seq> MemoryEventStore::append(std::span<const NewEvent> batch, std::span<const Cursor> cursors) {
  for (const auto& e : batch) PODID_TRY(validate(e));
  for (const auto& c : cursors) PODID_TRY(validate(c));
  std::scoped_lock write(write_mu_);
  std::unique_lock lock(mu_);
  const Seq first = last_ + 1;
  for (const auto& e : batch) {
    EventRecord r{++last_, e.at_ms, e.kind, e.subjects, e.payload};
    bytes_ += stored_size(r);
    std::vector<std::string> unique = r.subjects;
    std::sort(unique.begin(), unique.end());
    unique.erase(std::unique(unique.begin(), unique.end()), unique.end());
    for (const auto& s : unique) subjects_[s].push_back(r.seq);
    events_.push_back(std::move(r));
  }
  for (const auto& c : cursors) cursors_[c.name] = c.value;
  return first;
}

core::Result<Seq> MemoryEventStore::start_at(Seq from) const {
  if (from == 0) return first_;
  if (from < first_) {
    return core::make_error(core::ErrorCode::gone, "events before " + std::to_string(first_) +
                                                       " were dropped by retention (asked for " +
                                                       std::to_string(from) + ")");
  }
  return from;
}

core::Result<std::vector<EventRecord>> MemoryEventStore::read(Seq from, std::size_t limit) const {
  std::shared_lock lock(mu_);
  from = PODID_TRY(start_at(from));
  std::vector<EventRecord> out;
  for (Seq s = from; s <= last_ && out.size() < limit; ++s) out.push_back(events_[s - first_]);
  return out;
}

core::Result<std::vector<EventRecord>> MemoryEventStore::read_subject(std::string_view subject, Seq from,
                                                                      std::size_t limit) const {
  std::shared_lock lock(mu_);
  from = PODID_TRY(start_at(from));
  std::vector<EventRecord> out;
  auto it = subjects_.find(subject);
  if (it == subjects_.end()) return out;
  for (auto s = std::lower_bound(it->second.begin(), it->second.end(), from);
       s != it->second.end() && out.size() < limit; ++s) {
    out.push_back(events_[*s - first_]);
  }
  return out;
}

Seq MemoryEventStore::last_seq() const {
  std::shared_lock lock(mu_);
  return last_;
}

Seq MemoryEventStore::first_seq() const {
  std::shared_lock lock(mu_);
  return first_;
}

core::Result<std::optional<std::string>> MemoryEventStore::cursor(std::string_view name) const {
  std::shared_lock lock(mu_);
  auto it = cursors_.find(name);
  if (it == cursors_.end()) return std::optional<std::string>{};
  return std::optional<std::string>{it->second};
}

core::Status MemoryEventStore::put_checkpoint(const Checkpoint& cp) {
  std::scoped_lock write(write_mu_);
  std::unique_lock lock(mu_);
  if (cp.seq > last_) {
    return core::make_error(core::ErrorCode::invalid, "checkpoint at " + std::to_string(cp.seq) +
                                                          " is past the last event " + std::to_string(last_));
  }
  checkpoints_[cp.seq] = cp.state;
  while (checkpoints_.size() > kCheckpointsKept) checkpoints_.erase(checkpoints_.begin());
  return core::ok();
}

core::Result<std::optional<Checkpoint>> MemoryEventStore::latest_checkpoint() const {
  std::shared_lock lock(mu_);
  if (checkpoints_.empty()) return std::optional<Checkpoint>{};
  const auto& [seq, state] = *checkpoints_.rbegin();
  return std::optional<Checkpoint>{Checkpoint{seq, state}};
}

void MemoryEventStore::drop_prefix(Seq through, std::uint64_t bytes) {
  std::unique_lock lock(mu_);
  while (!events_.empty() && events_.front().seq <= through) events_.pop_front();
  first_ = through + 1;
  bytes_ -= std::min(bytes_, bytes);
  for (auto it = subjects_.begin(); it != subjects_.end();) {
    auto& seqs = it->second;
    seqs.erase(seqs.begin(), std::upper_bound(seqs.begin(), seqs.end(), through));
    it = seqs.empty() ? subjects_.erase(it) : std::next(it);
  }
}

core::Result<RetentionReport> MemoryEventStore::apply_retention(const RetentionPolicy& p, std::int64_t now_ms,
                                                                const std::string& export_dir) {
  std::scoped_lock write(write_mu_);
  std::uint64_t total = 0;
  {
    std::shared_lock lock(mu_);
    total = bytes_;
  }
  return run_retention(*this, p, now_ms, total, export_dir, [this](Seq, Seq through, std::uint64_t bytes) {
    drop_prefix(through, bytes);
    return core::ok();
  });
}

core::Status MemoryEventStore::export_jsonl(Seq from, Seq to, std::ostream& out) const {
  return write_jsonl(*this, from, to, out);
}

}  // namespace podid::store
