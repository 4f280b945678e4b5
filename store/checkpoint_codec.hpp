#pragma once
// How the event log stores a checkpoint's State: the JSON text of core::encode_state_text, compressed into
// one zstd frame (with its content checksum) while it is being written. At 10,000 pods the text is ~10 MiB
// and compresses about tenfold, so neither the controller nor RocksDB's write batch, WAL and memtable ever
// hold the text whole: a checkpoint was the controller's largest peak of memory. Stores written before
// compression hold plain text; both are read (a JSON document never starts with zstd's magic number).

#include <cstddef>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "core/state.hpp"

namespace podid::store {

// A checkpoint larger than this once decompressed is refused as corrupt rather than allocated.
inline constexpr std::size_t kMaxCheckpointText = std::size_t{1} << 30U;

// The stored bytes of `state`'s checkpoint. Errors: io when the compressor fails (out of memory).
[[nodiscard]] core::Result<std::string> encode_checkpoint(const core::State& state);

// The JSON text of stored checkpoint bytes: a zstd frame is decompressed and its checksum verified;
// anything else is plain text from an older store and returned as it is. Errors: corrupt for a damaged or
// truncated frame, bytes after the frame, or text over `max_text` bytes.
[[nodiscard]] core::Result<std::string> checkpoint_text(std::string_view stored,
                                                        std::size_t max_text = kMaxCheckpointText);

// True when `stored` starts with a zstd frame (for tests and diagnostics).
[[nodiscard]] bool is_compressed_checkpoint(std::string_view stored) noexcept;

}  // namespace podid::store
