#include "store/import.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "store/record_codec.hpp"
#include "store/rocks_db.hpp"
#include "store/rocks_event_store.hpp"
#include "store/rocks_format.hpp"

namespace podid::store {

using rocks::Cf;
namespace fs = std::filesystem;

namespace {

core::Error invalid(const std::string& why) {
  return core::make_error(core::ErrorCode::invalid, "cannot import: " + why);
}

core::Error io(const std::string& what, const std::error_code& ec) {
  return core::make_error(core::ErrorCode::io, what + ": " + ec.message());
}

// The seq range the store will hold: first..last (first = last + 1 when only a state is imported).
struct Range {
  Seq first;
  Seq last;
};

Range range_of(const ImportSet& set) {
  if (!set.events.empty()) return {set.events.front().seq, set.events.back().seq};
  Seq newest = 0;
  for (const auto& cp : set.checkpoints) newest = std::max(newest, cp.seq);
  return {newest + 1, newest};
}

// True when another process holds RocksDB's lock on `dir` (a running import); RocksDB locks LOCK with
// fcntl, which F_GETLK reports without taking it.
bool locked_by_other(const fs::path& dir) {
  const int fd = ::open((dir / "LOCK").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct flock probe {};
  probe.l_type = F_WRLCK;
  probe.l_whence = SEEK_SET;
  const bool locked = ::fcntl(fd, F_GETLK, &probe) == 0 && probe.l_type != F_UNLCK;
  ::close(fd);
  return locked;
}

core::Status check_target(const fs::path& path) {
  std::error_code ec;
  const auto st = fs::status(path, ec);
  if (!fs::exists(st)) return core::ok();
  if (!fs::is_directory(st)) return invalid(path.string() + " exists and is not a directory");
  if (!fs::is_empty(path, ec) || ec) {
    return core::make_error(core::ErrorCode::conflict,
                            "cannot import into " + path.string() +
                                ": it is not empty (an existing store is never touched); name a new or "
                                "empty directory");
  }
  return core::ok();
}

core::Status fsync_dir(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return io("opening " + dir.string(), std::error_code(errno, std::generic_category()));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return io("syncing " + dir.string(), std::error_code(err, std::generic_category()));
  return core::ok();
}

// Everything in one WriteBatch: events, subject index, checkpoints, cursors and the counters.
core::Status write_all(rocks::Db& db, const ImportSet& set, const Range& r) {
  rocksdb::WriteBatch b;
  std::uint64_t bytes = 0;
  for (const auto& e : set.events) {
    const NewEvent ne{e.at_ms, e.kind, e.subjects, e.payload};
    PODID_TRY(rocks::put(b, db.cf(Cf::events), encode_u64(e.seq), encode_event(ne)));
    for (auto it = e.subjects.begin(); it != e.subjects.end(); ++it) {
      if (std::find(e.subjects.begin(), it, *it) != it) continue;  // listed twice: index it once
      PODID_TRY(rocks::put(b, db.cf(Cf::subjects), subject_key(*it, e.seq), {}));
    }
    bytes += stored_size(ne);
  }
  for (const auto& cp : set.checkpoints)
    PODID_TRY(rocks::put(b, db.cf(Cf::checkpoints), encode_u64(cp.seq), cp.state));
  for (const auto& c : set.cursors) PODID_TRY(rocks::put(b, db.cf(Cf::cursors), c.name, c.value));
  PODID_TRY(rocks::put(b, db.cf(Cf::meta), rocks::kFirstSeqKey, encode_u64(r.first)));
  PODID_TRY(rocks::put(b, db.cf(Cf::meta), rocks::kLastSeqKey, encode_u64(r.last)));
  PODID_TRY(rocks::put(b, db.cf(Cf::meta), rocks::kBytesKey, encode_u64(bytes)));
  rocksdb::WriteOptions wo;
  wo.sync = true;
  auto s = db.db().Write(wo, &b);
  if (!s.ok()) return rocks::to_error(s, "writing the import into " + db.path());
  return core::ok();
}

// Reopens the finished store as any reader would (the counters are cross-checked there) and compares.
core::Status verify(const fs::path& dir, const Range& r) {
  auto store = PODID_TRY(RocksEventStore::open(dir.string()));
  if (store->first_seq() != r.first || store->last_seq() != r.last) {
    return core::make_error(core::ErrorCode::corrupt, "imported store " + dir.string() + " spans " +
                                                          std::to_string(store->first_seq()) + ".." +
                                                          std::to_string(store->last_seq()) + " instead of " +
                                                          std::to_string(r.first) + ".." +
                                                          std::to_string(r.last));
  }
  return core::ok();
}

void step(const ImportOptions& o, ImportStep s) {
  if (o.after_step) o.after_step(s);
}

}  // namespace

core::Status check_import(const ImportSet& set) {
  if (set.checkpoints.empty()) return invalid("no state to import (a checkpoint is required)");
  if (set.checkpoints.size() > kCheckpointsKept)
    return invalid("more than " + std::to_string(kCheckpointsKept) + " checkpoints");
  Seq prev = 0;
  for (const auto& e : set.events) {
    if (e.seq == 0) return invalid("event seqs start at 1, found #0");
    if (prev != 0 && e.seq != prev + 1) {
      return invalid("event seqs must increase by one, found #" + std::to_string(e.seq) + " after #" +
                     std::to_string(prev));
    }
    PODID_TRY(validate(NewEvent{e.at_ms, e.kind, e.subjects, e.payload}));
    prev = e.seq;
  }
  const Range r = range_of(set);
  Seq newest = 0;
  for (const auto& cp : set.checkpoints) newest = std::max(newest, cp.seq);
  if (newest != r.last) {
    return invalid("the state is at event #" + std::to_string(newest) + " but the events end at #" +
                   std::to_string(r.last));
  }
  for (const auto& cp : set.checkpoints) {
    if (cp.seq + 1 < r.first) {
      return invalid("a state at event #" + std::to_string(cp.seq) + " lies before the events #" +
                     std::to_string(r.first) + "..#" + std::to_string(r.last));
    }
  }
  return core::ok();
}

core::Status import_store(const std::string& path_text, const ImportSet& set, const ImportOptions& options) {
  PODID_TRY(check_import(set));
  const fs::path path = fs::path(path_text).lexically_normal();
  const fs::path target = path.has_filename() ? path : path.parent_path();
  PODID_TRY(check_target(target));
  const fs::path tmp = target.string() + ".importing";
  std::error_code ec;
  if (fs::exists(tmp, ec)) {
    if (locked_by_other(tmp)) {
      return core::make_error(core::ErrorCode::conflict, "another import into " + target.string() +
                                                             " is running (" + tmp.string() + " is locked)");
    }
    fs::remove_all(tmp, ec);  // the remains of a crashed import: never renamed, so never a store
    if (ec) return io("removing the remains of an earlier import " + tmp.string(), ec);
  }
  fs::create_directories(tmp, ec);
  if (ec) return io("creating " + tmp.string(), ec);
  const Range r = range_of(set);
  auto fill = [&]() -> core::Status {
    auto db = PODID_TRY(rocks::Db::open(tmp.string()));
    rocksdb::WriteOptions wo;
    wo.sync = true;
    (void)PODID_TRY(rocks::prepare_format(*db, wo));
    step(options, ImportStep::created);
    PODID_TRY(write_all(*db, set, r));
    step(options, ImportStep::written);
    return core::ok();
  };
  auto filled = fill();
  if (filled) filled = verify(tmp, r);
  if (!filled) {
    fs::remove_all(tmp, ec);  // best effort: the next import removes it anyway
    return filled;
  }
  step(options, ImportStep::verified);
  // rename(2) replaces an empty directory and fails on a non-empty one, so a store that appeared at
  // `target` meanwhile is not overwritten either.
  fs::rename(tmp, target, ec);
  if (ec) return io("renaming " + tmp.string() + " to " + target.string(), ec);
  const fs::path parent = target.has_parent_path() ? target.parent_path() : fs::path(".");
  return fsync_dir(parent);
}

}  // namespace podid::store
