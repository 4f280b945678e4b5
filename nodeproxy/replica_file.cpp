#include "nodeproxy/replica_file.hpp"

#include <array>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <system_error>

#include "store/durable_file.hpp"

namespace podid::nodeproxy {
namespace json = boost::json;

namespace {

constexpr std::string_view kFormat = "podid-nodeproxy-replica";
constexpr std::string_view kTrailerHead = ",\"checksum\":\"crc32:";
constexpr std::size_t kTrailerSize = kTrailerHead.size() + 8 + 3;  // 8 hex digits, then "}\n
// A node's snapshot is kilobytes; anything far bigger is not a file this node proxy wrote.
constexpr std::uintmax_t kMaxFileBytes = std::uintmax_t{64} << 20;
// Clocks of one node drift a little between a write and a restart; more than this is no drift.
constexpr std::int64_t kFutureSlackMs = 60'000;

ReplicaFileRefusal refuse(ReplicaFileProblem problem, std::string detail) {
  return ReplicaFileRefusal{problem, std::move(detail)};
}

std::string hex8(std::uint32_t v) {
  std::array<char, 9> buf{};
  std::snprintf(buf.data(), buf.size(), "%08x", v);
  return std::string(buf.data(), 8);
}

// The bytes the checksum covers and the checksum the file states, or why there is no such split.
struct Split {
  std::string_view body;
  std::string_view stated;
};

bool split(std::string_view text, Split& out) {
  if (text.size() < kTrailerSize + 2 || !text.ends_with("\"}\n")) return false;
  const auto trailer = text.substr(text.size() - kTrailerSize);
  if (!trailer.starts_with(kTrailerHead)) return false;
  out.body = text.substr(0, text.size() - kTrailerSize);
  out.stated = trailer.substr(kTrailerHead.size(), 8);
  return true;
}

const json::value* member(const json::object& o, std::string_view key) {
  return o.if_contains(key);
}

}  // namespace

std::string_view to_string(ReplicaFileProblem problem) {
  switch (problem) {
    case ReplicaFileProblem::absent:
      return "absent";
    case ReplicaFileProblem::unreadable:
      return "unreadable";
    case ReplicaFileProblem::corrupt:
      return "corrupt";
    case ReplicaFileProblem::unknown_version:
      return "unknown_version";
    case ReplicaFileProblem::other_node:
      return "other_node";
    case ReplicaFileProblem::stale:
      return "stale";
  }
  return "unknown";
}

std::uint32_t crc32(std::string_view bytes) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (const char c : bytes) {
    crc ^= static_cast<std::uint8_t>(c);
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

std::string encode_replica_file(const ReplicaFileContents& c, int version) {
  std::string text = "{\"format\":\"";
  text += kFormat;
  text += "\",\"version\":" + std::to_string(version);
  text += ",\"node\":" + json::serialize(json::value(c.snapshot.node));
  text += ",\"seq\":" + std::to_string(c.snapshot.seq);
  text += ",\"confirmedAtMs\":" + std::to_string(c.confirmed_at_ms);
  text += ",\"snapshot\":" + encode_snapshot(c.snapshot);
  const auto sum = crc32(text);
  text += kTrailerHead;
  text += hex8(sum) + "\"}\n";
  return text;
}

ReplicaFileLoad decode_replica_file(std::string_view text, const ReplicaFileExpectation& expect) {
  using P = ReplicaFileProblem;
  Split parts;
  if (!split(text, parts))
    return refuse(P::corrupt, "truncated, or not a replica file (no checksum at its end)");
  boost::system::error_code ec;
  const json::value header = json::parse(std::string(parts.body) + "}", ec);
  if (ec || !header.is_object()) return refuse(P::corrupt, "not JSON");
  const auto& o = header.as_object();
  const auto* format = member(o, "format");
  if (format == nullptr || !format->is_string() || format->as_string() != kFormat)
    return refuse(P::corrupt, "not a replica file (format)");
  const auto* version = member(o, "version");
  if (version == nullptr || !version->is_int64()) return refuse(P::corrupt, "no version");
  if (version->as_int64() != kReplicaFileVersion)
    return refuse(P::unknown_version, "version " + std::to_string(version->as_int64()) +
                                          ", this build reads " + std::to_string(kReplicaFileVersion));
  if (hex8(crc32(parts.body)) != parts.stated)
    return refuse(P::corrupt, "checksum mismatch: the file was altered or torn");
  const auto* node = member(o, "node");
  const auto* seq = member(o, "seq");
  const auto* confirmed = member(o, "confirmedAtMs");
  const auto* snap = member(o, "snapshot");
  if (node == nullptr || !node->is_string() || seq == nullptr || confirmed == nullptr ||
      !confirmed->is_int64() || snap == nullptr)
    return refuse(P::corrupt, "a field is missing (node, seq, confirmedAtMs, snapshot)");
  auto snapshot = decode_snapshot(json::serialize(*snap));
  if (!snapshot) return refuse(P::corrupt, snapshot.error().message);
  const auto stated_seq = seq->to_number<core::Seq>(ec);
  if (ec || stated_seq != snapshot->seq) return refuse(P::corrupt, "seq differs from the snapshot's");
  if (node->as_string() != expect.node || snapshot->node != expect.node)
    return refuse(P::other_node,
                  "written for node " + std::string(node->as_string()) + ", this is " + expect.node);
  const std::int64_t at = confirmed->as_int64();
  const std::int64_t age = expect.now_ms - at;
  if (age > expect.max_age.count())
    return refuse(P::stale, "confirmed " + std::to_string(age / 1000) +
                                "s ago, more than --replica-max-age (" +
                                std::to_string(expect.max_age.count() / 1000) + "s)");
  if (-age > kFutureSlackMs)
    return refuse(P::stale,
                  "confirmed " + std::to_string(-age / 1000) + "s in the future (clock moved back?)");
  return ReplicaFileContents{std::move(*snapshot), at};
}

ReplicaFileLoad load_replica_file(const std::filesystem::path& path, const ReplicaFileExpectation& expect) {
  using P = ReplicaFileProblem;
  std::error_code ec;
  const bool exists = std::filesystem::exists(path, ec);
  if (ec) return refuse(P::unreadable, path.string() + ": " + ec.message());
  if (!exists) return refuse(P::absent, path.string() + " does not exist");
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return refuse(P::unreadable, path.string() + ": " + ec.message());
  if (size > kMaxFileBytes) return refuse(P::corrupt, "larger than 64 MiB");
  std::ifstream in{path, std::ios::binary};
  if (!in) return refuse(P::unreadable, "could not open " + path.string());
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return refuse(P::unreadable, "could not read " + path.string());
  return decode_replica_file(text.str(), expect);
}

core::Status write_replica_file(const std::filesystem::path& path, const ReplicaFileContents& contents) {
  auto tmp = path;
  tmp += ".tmp";
  auto file = PODID_TRY(store::DurableFile::create(tmp));
  // Before any byte lands: the temporary file (and so the renamed one) is the owner's only.
  std::error_code ec;
  std::filesystem::permissions(tmp, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
                               std::filesystem::perm_options::replace, ec);
  if (ec) return core::make_error(core::ErrorCode::io, "chmod 0600 " + tmp.string() + ": " + ec.message());
  PODID_TRY(file.write(encode_replica_file(contents)));
  return file.commit(path);
}

}  // namespace podid::nodeproxy
