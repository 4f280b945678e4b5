#include "store/rocks_db.hpp"

namespace podid::store::rocks {

core::Error to_error(const rocksdb::Status& s, std::string_view context) {
  auto code = core::ErrorCode::io;
  if (s.IsCorruption()) {
    code = core::ErrorCode::corrupt;
  } else if (s.IsInvalidArgument() || s.IsNotSupported()) {
    code = core::ErrorCode::invalid;
  } else if (s.IsBusy() || s.IsTimedOut() || s.IsTryAgain()) {
    code = core::ErrorCode::transient;
  }
  return core::make_error(code, std::string(context) + ": " + s.ToString());
}

core::Status put(rocksdb::WriteBatch& b, rocksdb::ColumnFamilyHandle* cf, std::string_view key,
                 std::string_view value) {
  auto s = b.Put(cf, rocksdb::Slice(key.data(), key.size()), rocksdb::Slice(value.data(), value.size()));
  if (!s.ok()) return to_error(s, "adding to a write batch");
  return core::ok();
}

core::Status del(rocksdb::WriteBatch& b, rocksdb::ColumnFamilyHandle* cf, std::string_view key) {
  auto s = b.Delete(cf, rocksdb::Slice(key.data(), key.size()));
  if (!s.ok()) return to_error(s, "adding to a write batch");
  return core::ok();
}

Db::Db(std::string path, std::unique_ptr<rocksdb::DB> db, std::vector<rocksdb::ColumnFamilyHandle*> cfs)
    : path_(std::move(path)), db_(std::move(db)), cfs_(std::move(cfs)) {}

Db::~Db() {
  // A destructor cannot report: a failed handle release leaks only memory, and every acknowledged write is
  // already in the WAL, so a failed Close loses nothing (the next open recovers).
  for (auto* h : cfs_) {
    [[maybe_unused]] auto s = db_->DestroyColumnFamilyHandle(h);
  }
  [[maybe_unused]] auto s = db_->Close();
}

core::Result<std::unique_ptr<Db>> Db::open(const std::string& path) {
  rocksdb::DBOptions options;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const char* name : kCfNames) descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  auto s = rocksdb::DB::Open(options, path, descriptors, &handles, &raw);
  if (!s.ok()) return to_error(s, "opening event store " + path);
  std::unique_ptr<rocksdb::DB> db(raw);
  return std::unique_ptr<Db>(new Db(path, std::move(db), std::move(handles)));
}

core::Result<std::optional<std::string>> Db::get_meta(std::string_view key) const {
  std::string value;
  auto s = db_->Get(rocksdb::ReadOptions(), cf(Cf::meta), rocksdb::Slice(key.data(), key.size()), &value);
  if (s.IsNotFound()) return std::optional<std::string>{};
  if (!s.ok()) return to_error(s, "reading meta " + std::string(key));
  return std::optional<std::string>{std::move(value)};
}

core::Result<bool> Db::empty(Cf c) const {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf(c)));
  it->SeekToFirst();
  if (!it->status().ok()) return to_error(it->status(), "scanning column family");
  return !it->Valid();
}

}  // namespace podid::store::rocks
