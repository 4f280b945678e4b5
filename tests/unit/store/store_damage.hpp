#pragma once
// Damage done to a RocksDB store's files between two runs, as a failing disk or a careless hand does it:
// shared by the store's damage tests and the controller's fault test (tests/integration/faults).

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace podid::store::test {

// The newest file of the store whose name ends with `suffix` (".log", ".sst") or starts with it
// ("MANIFEST-"): RocksDB numbers its files upwards with a fixed width, so the greatest name is the newest.
inline std::optional<std::filesystem::path> newest_file(const std::filesystem::path& dir,
                                                        const std::string& suffix) {
  std::optional<std::filesystem::path> out;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const auto name = entry.path().filename().string();
    const bool match = name.starts_with(suffix) || name.ends_with(suffix);
    if (!match || entry.file_size() == 0) continue;
    if (!out || name > out->filename().string()) out = entry.path();
  }
  return out;
}

// Cuts the file to half its size.
inline void truncate_half(const std::filesystem::path& file) {
  std::filesystem::resize_file(file, std::filesystem::file_size(file) / 2);
}

// Inverts `count` bytes starting in the middle of the file.
inline void flip_bytes(const std::filesystem::path& file, std::size_t count = 8) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  if (!f) throw std::runtime_error("cannot open " + file.string());
  const auto size = static_cast<std::size_t>(std::filesystem::file_size(file));
  const auto at = size / 2;
  std::vector<char> bytes(std::min(count, size - at));
  f.seekg(static_cast<std::streamoff>(at));
  f.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  for (auto& b : bytes) b = static_cast<char>(~b);
  f.seekp(static_cast<std::streamoff>(at));
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!f) throw std::runtime_error("cannot write " + file.string());
}

}  // namespace podid::store::test
