#include "cli/store_recovery.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <system_error>

#include "store/event_log.hpp"

namespace podid::cli {

namespace fs = std::filesystem;

namespace {

// YYYYMMDDTHHMMSSZ
std::string utc_stamp(std::int64_t now_ms) {
  const auto seconds = static_cast<std::time_t>(now_ms / 1000);
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  char stamp[32] = {};
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &utc);
  return stamp;
}

core::Result<std::unique_ptr<store::RocksEventStore>> open_verified(const std::string& path) {
  auto opened = PODID_TRY(store::RocksEventStore::open(path, {.verify = true}));
  PODID_TRY(store::EventLog(*opened).verify());
  return opened;
}

// Makes a rename in `dir` durable before anything is created under the old name.
core::Status sync_directory(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return core::make_error(core::ErrorCode::io, "opening " + dir.string() + " to sync it");
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return core::make_error(core::ErrorCode::io, "syncing directory " + dir.string());
  return core::ok();
}

std::string unused_name(const std::string& base) {
  std::string name = base;
  std::error_code ec;
  for (int n = 2; fs::exists(name, ec); ++n) name = base + "-" + std::to_string(n);
  return name;
}

}  // namespace

core::Result<std::string> keep_in_place(const std::string& path, std::int64_t now_ms) {
  const std::string kept = unused_name((fs::path(path) / ("corrupt-" + utc_stamp(now_ms))).string());
  std::error_code ec;
  fs::create_directory(kept, ec);
  if (ec) return core::make_error(core::ErrorCode::io, "creating " + kept + ": " + ec.message());
  for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
    const auto entry = it->path();
    if (entry == fs::path(kept)) continue;
    std::error_code kind;
    if (it->is_directory(kind) && entry.filename().string().starts_with("corrupt-"))
      continue;  // kept earlier
    std::error_code moved;
    fs::rename(entry, fs::path(kept) / entry.filename(), moved);
    if (moved)
      return core::make_error(core::ErrorCode::io,
                              "moving " + entry.string() + " into " + kept + ": " + moved.message());
  }
  if (ec) return core::make_error(core::ErrorCode::io, "listing " + path + ": " + ec.message());
  PODID_TRY(sync_directory(kept));
  PODID_TRY(sync_directory(path));
  return kept;
}

core::Result<std::string> move_aside(const std::string& path, std::int64_t now_ms) {
  const std::string kept = unused_name(corrupt_store_name(path, now_ms));
  std::error_code ec;
  fs::rename(path, kept, ec);
  // A volume mounted at the store's path cannot be renamed (EBUSY), and a copy out of it would be neither
  // atomic nor kept: keep it inside, beside the new store.
  if (ec == std::errc::device_or_resource_busy || ec == std::errc::cross_device_link)
    return keep_in_place(path, now_ms);
  if (ec)
    return core::make_error(core::ErrorCode::io,
                            "moving the damaged event store " + path + " to " + kept + ": " + ec.message());
  PODID_TRY(sync_directory(fs::absolute(fs::path(kept), ec).parent_path()));
  return kept;
}

core::Result<OnCorruptStore> parse_on_corrupt_store(std::string_view text) {
  if (text == "rebuild") return OnCorruptStore::rebuild;
  if (text == "fail") return OnCorruptStore::fail;
  return core::make_error(core::ErrorCode::invalid,
                          "--on-corrupt-store: expected rebuild or fail, got \"" + std::string(text) + "\"");
}

std::string corrupt_store_name(const std::string& path, std::int64_t now_ms) {
  std::string trimmed = path;
  while (trimmed.size() > 1 && trimmed.back() == '/') trimmed.pop_back();
  return trimmed + ".corrupt-" + utc_stamp(now_ms);
}

core::Result<OpenedStore> open_controller_store(const std::string& path, OnCorruptStore on_corrupt,
                                                const core::Clock& clock, const core::Logger& logger,
                                                core::MetricsRegistry& metrics) {
  auto& rebuilds = metrics
                       .counter("aadpodidentity_event_log_rebuilds_total",
                                "Event logs found damaged at start-up, moved aside and rebuilt from "
                                "Kubernetes and Azure.")
                       .with({});
  auto opened = open_verified(path);
  if (opened) return OpenedStore{std::move(*opened), {}, {}};
  if (opened.error().code != core::ErrorCode::corrupt) return opened.error();
  const std::string damage = opened.error().describe();
  if (on_corrupt == OnCorruptStore::fail) {
    logger.error("Event store damaged; not starting (--on-corrupt-store=fail).",
                 {{"store", path.c_str()}, {"error", damage.c_str()}});
    return core::make_error(core::ErrorCode::corrupt,
                            "the event store " + path + " is damaged (" + damage +
                                "); not starting with --on-corrupt-store=fail. Move it aside, or start with "
                                "--on-corrupt-store=rebuild, to rebuild it from Kubernetes and Azure");
  }
  const auto kept = PODID_TRY(move_aside(path, clock.now_ms()));
  rebuilds.inc();
  logger.error("Event store damaged; moved aside and rebuilt from Kubernetes and Azure.",
               {{"store", path.c_str()}, {"keptAt", kept.c_str()}, {"error", damage.c_str()}});
  auto fresh = PODID_TRY(open_verified(path));
  return OpenedStore{std::move(fresh), kept, damage};
}

}  // namespace podid::cli
