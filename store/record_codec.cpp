#include "store/record_codec.hpp"

#include <cstddef>

namespace podid::store {
namespace {

constexpr unsigned char kRecordTag = 1;  // bump when the record layout changes (with a format upgrade)

void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

std::uint64_t varint_size(std::uint64_t v) {
  std::uint64_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

// A cursor over a record value; every getter fails softly so that decode_event can name the key.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}

  bool byte(unsigned char& out) {
    if (in_.empty()) return false;
    out = static_cast<unsigned char>(in_.front());
    in_.remove_prefix(1);
    return true;
  }
  bool fixed64(std::uint64_t& out) {
    if (in_.size() < 8) return false;
    out = 0;
    for (std::size_t i = 0; i < 8; ++i) out = (out << 8) | static_cast<unsigned char>(in_[i]);
    in_.remove_prefix(8);
    return true;
  }
  bool varint(std::uint64_t& out) {
    out = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
      unsigned char b = 0;
      if (!byte(b)) return false;
      out |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return true;
    }
    return false;
  }
  bool string(std::string& out) {
    std::uint64_t n = 0;
    if (!varint(n) || n > in_.size()) return false;
    out.assign(in_.substr(0, static_cast<std::size_t>(n)));
    in_.remove_prefix(static_cast<std::size_t>(n));
    return true;
  }
  std::string_view rest() const { return in_; }

 private:
  std::string_view in_;
};

}  // namespace

std::string encode_u64(std::uint64_t v) {
  std::string out(8, '\0');
  for (std::size_t i = 0; i < 8; ++i) out[7 - i] = static_cast<char>((v >> (8 * i)) & 0xff);
  return out;
}

core::Result<std::uint64_t> decode_u64(std::string_view bytes, std::string_view what) {
  std::uint64_t v = 0;
  Reader r(bytes);
  if (bytes.size() != 8 || !r.fixed64(v)) {
    return core::make_error(core::ErrorCode::corrupt,
                            std::string(what) + ": expected 8 bytes, found " + std::to_string(bytes.size()));
  }
  return v;
}

std::string subject_prefix(std::string_view subject) {
  std::string out(subject);
  out.push_back('\0');
  return out;
}

std::string subject_key(std::string_view subject, Seq seq) {
  return subject_prefix(subject) + encode_u64(seq);
}

std::string encode_event(const NewEvent& e) {
  std::string out;
  out.reserve(static_cast<std::size_t>(stored_size(e)));
  out.push_back(static_cast<char>(kRecordTag));
  out += encode_u64(static_cast<std::uint64_t>(e.at_ms));
  put_varint(out, e.kind.size());
  out += e.kind;
  put_varint(out, e.subjects.size());
  for (const auto& s : e.subjects) {
    put_varint(out, s.size());
    out += s;
  }
  out += e.payload;
  return out;
}

core::Result<EventRecord> decode_event(Seq seq, std::string_view value) {
  auto fail = [seq](std::string_view why) {
    return core::make_error(core::ErrorCode::corrupt, "event " + std::to_string(seq) +
                                                          ": undecodable record (" + std::string(why) + ")");
  };
  Reader r(value);
  unsigned char tag = 0;
  if (!r.byte(tag)) return fail("empty value");
  if (tag != kRecordTag) return fail("unknown record tag " + std::to_string(tag));
  EventRecord out;
  out.seq = seq;
  std::uint64_t at = 0;
  if (!r.fixed64(at)) return fail("truncated time");
  out.at_ms = static_cast<std::int64_t>(at);
  if (!r.string(out.kind)) return fail("truncated kind");
  std::uint64_t n = 0;
  if (!r.varint(n) || n > r.rest().size()) return fail("bad subject count");
  out.subjects.resize(static_cast<std::size_t>(n));
  for (auto& s : out.subjects) {
    if (!r.string(s)) return fail("truncated subject");
  }
  out.payload.assign(r.rest());
  return out;
}

namespace {
std::uint64_t value_size(std::string_view kind, const std::vector<std::string>& subjects,
                         std::string_view payload) {
  std::uint64_t n = 1 + 8 + varint_size(kind.size()) + kind.size() + varint_size(subjects.size());
  for (const auto& s : subjects) n += varint_size(s.size()) + s.size();
  return n + payload.size();
}
}  // namespace

std::uint64_t stored_size(const NewEvent& e) {
  return 8 + value_size(e.kind, e.subjects, e.payload);
}

std::uint64_t stored_size(const EventRecord& e) {
  return 8 + value_size(e.kind, e.subjects, e.payload);
}

core::Status validate(const NewEvent& e) {
  if (e.kind.empty()) return core::make_error(core::ErrorCode::invalid, "event kind is empty");
  for (const auto& s : e.subjects) {
    if (s.empty())
      return core::make_error(core::ErrorCode::invalid, "event " + e.kind + " has an empty subject");
    if (s.find('\0') != std::string::npos) {
      return core::make_error(core::ErrorCode::invalid, "event " + e.kind + " has a subject containing NUL");
    }
  }
  return core::ok();
}

core::Status validate(const Cursor& c) {
  if (c.name.empty()) return core::make_error(core::ErrorCode::invalid, "cursor name is empty");
  return core::ok();
}

}  // namespace podid::store
