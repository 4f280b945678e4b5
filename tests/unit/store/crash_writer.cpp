// Crash-test helper (not a product binary): appends batches to a RocksEventStore forever, announcing each
// batch before appending ("B <batch> <size>") and acknowledging it after append() returned ("A <batch>
// <first seq> <size>"), one line per write(2) on stdout. The crash test SIGKILLs it at random points.
// Batch ids continue from the "writer" cursor, which every batch sets, so a restarted writer never
// repeats or skips one. Every event's payload carries its batch id, the batch size and its index.
//
// Usage: podid_store_crash_writer <db path> <seed>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "store/rocks_event_store.hpp"

namespace {

void say(const std::string& line) {
  std::string out = line + "\n";
  std::string_view rest = out;
  while (!rest.empty()) {
    ssize_t n = ::write(STDOUT_FILENO, rest.data(), rest.size());
    if (n <= 0) std::exit(3);  // the test went away
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
}

int fail(const podid::core::Error& e) {
  std::fprintf(stderr, "crash writer: %s\n", e.describe().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s <db path> <seed>\n", argv[0]);
    return 2;
  }
  auto opened = podid::store::RocksEventStore::open(argv[1]);
  if (!opened) return fail(opened.error());
  auto& store = **opened;
  auto cursor = store.cursor("writer");
  if (!cursor) return fail(cursor.error());
  std::uint64_t batch_id = *cursor ? std::stoull(**cursor) : 0;

  std::mt19937_64 rng(std::stoull(argv[2]));
  std::uniform_int_distribution<int> small(1, 20);
  std::uniform_int_distribution<int> large(2000, 4000);
  std::uniform_int_distribution<int> pick(0, 7);
  for (;;) {
    ++batch_id;
    const bool is_large = pick(rng) == 0;
    const int size = is_large ? large(rng) : small(rng);
    const std::string fill(is_large ? 512 : 16, 'f');
    std::vector<podid::store::NewEvent> batch;
    batch.reserve(static_cast<std::size_t>(size));
    const std::string id = std::to_string(batch_id);
    for (int i = 0; i < size; ++i) {
      batch.push_back({static_cast<std::int64_t>(batch_id),
                       "CrashEvent",
                       {"batch/" + id, "writer"},
                       R"({"batch":)" + id + R"(,"size":)" + std::to_string(size) + R"(,"index":)" +
                           std::to_string(i) + R"(,"fill":")" + fill + "\"}"});
    }
    std::vector<podid::store::Cursor> cursors{{"writer", id}};
    say("B " + id + " " + std::to_string(size));
    auto first = store.append(batch, cursors);
    if (!first) return fail(first.error());
    say("A " + id + " " + std::to_string(*first) + " " + std::to_string(size));
    if (batch_id % 10 == 0) {  // a "projection": the number of batches applied through last_seq
      auto st = store.put_checkpoint({store.last_seq(), id});
      if (!st) return fail(st.error());
    }
  }
}
