#pragma once
// Reads the golden event logs of tests/golden (core/event_codec.hpp form, one event per line).

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/event_codec.hpp"

namespace podid::test {

inline std::filesystem::path source_dir() {
  const char* dir = std::getenv("PODID_SOURCE_DIR");
  return dir ? std::filesystem::path(dir) : std::filesystem::path(PODID_TEST_SOURCE_DIR);
}

inline std::vector<core::Event> read_golden(const std::string& name) {
  std::ifstream in(source_dir() / "tests/golden" / (name + ".events.jsonl"));
  std::vector<core::Event> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto e = core::decode_line(line);
    if (!e) throw std::runtime_error(name + ": " + e.error().describe());
    out.push_back(*e);
  }
  if (out.empty()) throw std::runtime_error("golden log " + name + " is missing or empty");
  return out;
}

}  // namespace podid::test
