#include "store/retention.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <limits>

#include "store/durable_file.hpp"
#include "store/jsonl.hpp"
#include "store/record_codec.hpp"

namespace podid::store {
namespace {

std::string padded(Seq seq) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%020llu", static_cast<unsigned long long>(seq));
  return buf;
}

// The oldest time an event may carry and stay; min() when there is no age limit.
std::int64_t age_cutoff(const RetentionPolicy& p, std::int64_t now_ms) {
  if (!p.max_age_ms) return std::numeric_limits<std::int64_t>::min();
  std::int64_t cutoff = 0;
  if (__builtin_sub_overflow(now_ms, *p.max_age_ms, &cutoff)) return std::numeric_limits<std::int64_t>::min();
  return cutoff;
}

}  // namespace

core::Result<RetentionReport> run_retention(const EventStore& s, const RetentionPolicy& p,
                                            std::int64_t now_ms, std::uint64_t total_bytes,
                                            const std::string& export_dir, const DropPrefix& drop) {
  if (p.max_age_ms && *p.max_age_ms < 0) {
    return core::make_error(core::ErrorCode::invalid, "retention max_age_ms is negative");
  }
  const Seq first = s.first_seq();
  RetentionReport report{first - 1, 0, {}};
  if (!p.max_age_ms && !p.max_bytes && !p.max_events) return report;  // no limit: keep everything
  auto checkpoint = PODID_TRY(s.latest_checkpoint());
  const Seq limit = std::min(checkpoint ? checkpoint->seq : Seq{0}, s.last_seq());
  if (limit < first) return report;  // nothing is covered by a checkpoint

  const std::int64_t cutoff = age_cutoff(p, now_ms);
  std::uint64_t events_left = s.last_seq() - first + 1;
  std::uint64_t bytes_left = total_bytes;
  std::uint64_t bytes_dropped = 0;
  auto must_drop = [&](const EventRecord& e) {
    return e.at_ms < cutoff || (p.max_events && events_left > *p.max_events) ||
           (p.max_bytes && bytes_left > *p.max_bytes);
  };

  const std::filesystem::path dir(export_dir);
  auto file = PODID_TRY(DurableFile::create(dir / ("events-" + padded(first) + ".jsonl.tmp")));
  Seq next = first;
  bool done = false;
  while (!done && next <= limit) {
    auto chunk =
        PODID_TRY(s.read(next, static_cast<std::size_t>(std::min<Seq>(kExportChunk, limit - next + 1))));
    if (chunk.empty()) break;
    std::string lines;
    for (const auto& e : chunk) {
      if (!must_drop(e)) {
        done = true;
        break;
      }
      lines += to_jsonl(e);
      lines += '\n';
      const auto size = stored_size(e);
      --events_left;
      bytes_left -= std::min(bytes_left, size);
      bytes_dropped += size;
      report.dropped_through = e.seq;
      ++report.dropped;
    }
    PODID_TRY(file.write(lines));
    next = chunk.back().seq + 1;
  }
  if (report.dropped == 0) return report;  // the temporary file is removed with `file`

  auto final_path = dir / ("events-" + padded(first) + "-" + padded(report.dropped_through) + ".jsonl");
  PODID_TRY(file.commit(final_path));
  report.export_path = final_path.string();
  PODID_TRY(drop(first, report.dropped_through, bytes_dropped));
  return report;
}

}  // namespace podid::store
