#pragma once
// Shared set-up for the EventStore contract suite: a temporary directory, one fixture per implementation
// (TEMPLATE_TEST_CASE runs every contract test against both), and small event builders.

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "store/event_store.hpp"
#include "store/memory_event_store.hpp"
#include "store/rocks_event_store.hpp"

namespace podid::store::test {

// A fresh directory under the system temp dir, removed with everything in it at scope exit.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "podid-store-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

struct MemoryFixture {
  static constexpr const char* kName = "memory";
  TempDir dir;
  std::unique_ptr<EventStore> store = std::make_unique<MemoryEventStore>();
  // A memory store lives as long as the object: "reopening" keeps the same instance.
  void reopen() {}
};

struct RocksFixture {
  static constexpr const char* kName = "rocksdb";
  TempDir dir;
  std::unique_ptr<EventStore> store = open();
  void reopen() {
    store.reset();
    store = open();
  }

 private:
  std::unique_ptr<EventStore> open() { return RocksEventStore::open((dir.path() / "db").string()).value(); }
};

inline NewEvent event(std::string kind, std::vector<std::string> subjects, std::string payload,
                      std::int64_t at_ms = 1000) {
  return NewEvent{at_ms, std::move(kind), std::move(subjects), std::move(payload)};
}

// Numbered events "E<i>" about subject "s/<i % subjects>", payload {"i":<i>}.
inline std::vector<NewEvent> numbered(int from, int count, int subjects = 3, std::int64_t at_ms = 1000) {
  std::vector<NewEvent> out;
  for (int i = from; i < from + count; ++i) {
    out.push_back(event("E" + std::to_string(i), {"s/" + std::to_string(i % subjects)},
                        "{\"i\":" + std::to_string(i) + "}", at_ms));
  }
  return out;
}

inline std::vector<std::string> read_lines(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

}  // namespace podid::store::test
