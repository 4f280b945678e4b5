#pragma once
// The replica file: the node proxy's NodeSnapshot on the node's disk, so that a restarted node proxy
// (DaemonSet rollout, OOM kill, node reboot) serves its pods while the controller is away instead of refusing
// them all.
//
// Format (version 1), one JSON object on one line, written by encode_replica_file():
//   {"format":"podid-nodeproxy-replica","version":1,"node":"n","seq":42,"confirmedAtMs":1700000000000,
//    "snapshot":{...encode_snapshot()...},"checksum":"crc32:1a2b3c4d"}
// The checksum is the CRC-32 (IEEE) of every byte before `,"checksum"`; it always comes last, so a truncated
// or altered file is told apart from a valid one without trusting any of its fields. `confirmedAtMs` is
// the wall-clock time the controller last confirmed this snapshot (a full snapshot, a change or a
// heartbeat), not the time of the write: it is what --replica-max-age bounds.
//
// A file is refused (never served, never fatal) when it is unreadable, truncated or altered (checksum),
// not JSON, of an unknown version, of another node, older than max_age, or confirmed more than a minute in
// the future (the clock cannot vouch for its age). The CRC detects accidents (a torn disk, a partial copy),
// not an attacker: the file is 0600 in a root-owned hostPath directory, and whoever can write there owns
// the node anyway.
//
// Thread-safety: pure functions, and file functions that touch only `path`. write_replica_file() is
// atomic (store::DurableFile: temporary file, fsync, rename, directory fsync) and leaves mode 0600.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <variant>

#include "core/result.hpp"
#include "nodeproxy/node_snapshot.hpp"

namespace podid::nodeproxy {

inline constexpr int kReplicaFileVersion = 1;

struct ReplicaFileContents {
  NodeSnapshot snapshot;
  std::int64_t confirmed_at_ms{0};
  bool operator==(const ReplicaFileContents&) const = default;
};

// Why a file was not used. `absent` is no problem: a first start, or the file disabled.
enum class ReplicaFileProblem { absent, unreadable, corrupt, unknown_version, other_node, stale };
[[nodiscard]] std::string_view to_string(ReplicaFileProblem problem);

struct ReplicaFileRefusal {
  ReplicaFileProblem problem{ReplicaFileProblem::absent};
  std::string detail;  // for the log line: what exactly was wrong
};

using ReplicaFileLoad = std::variant<ReplicaFileContents, ReplicaFileRefusal>;

// What a file must satisfy to be used.
struct ReplicaFileExpectation {
  std::string node;
  std::int64_t now_ms{0};
  std::chrono::milliseconds max_age{std::chrono::minutes(10)};
};

// `version` is a parameter so that tests can write a file of a version this build does not know.
[[nodiscard]] std::string encode_replica_file(const ReplicaFileContents& contents,
                                              int version = kReplicaFileVersion);
[[nodiscard]] ReplicaFileLoad decode_replica_file(std::string_view text,
                                                  const ReplicaFileExpectation& expect);

// Reads and decodes `path`; a missing file is `absent`.
[[nodiscard]] ReplicaFileLoad load_replica_file(const std::filesystem::path& path,
                                                const ReplicaFileExpectation& expect);
// Replaces `path` atomically (creating its directory if needed) with mode 0600. Errors: io.
[[nodiscard]] core::Status write_replica_file(const std::filesystem::path& path,
                                              const ReplicaFileContents& contents);

// CRC-32 (IEEE 802.3, reflected, as zlib's crc32()), exposed for tests.
[[nodiscard]] std::uint32_t crc32(std::string_view bytes);

}  // namespace podid::nodeproxy
