// The record encoding and the JSON-lines form.

#include <catch2/catch.hpp>

#include "store/jsonl.hpp"
#include "store/record_codec.hpp"

namespace podid::store {

TEST_CASE("A record survives encoding and its stored size counts key and value", "[unit][store][codec]") {
  NewEvent e{-5, "IdentityAssigned", {"pod/ns/p", "identity/ns/i"}, std::string(300, 'x')};
  const auto value = encode_event(e);
  CHECK(stored_size(e) == 8 + value.size());
  auto r = decode_event(17, value).value();
  CHECK(r == EventRecord{17, -5, e.kind, e.subjects, e.payload});
  CHECK(stored_size(r) == stored_size(e));
}

TEST_CASE("Truncated or foreign records are corrupt and name the event", "[unit][store][codec]") {
  const auto value = encode_event(NewEvent{1, "K", {"s/1"}, "{}"});
  auto bad = GENERATE_COPY(std::string{}, value.substr(0, 5), value.substr(0, 11),
                           std::string("\x07", 1) + value.substr(1));
  auto r = decode_event(42, bad);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == core::ErrorCode::corrupt);
  CHECK_THAT(r.error().message, Catch::Contains("event 42"));
}

TEST_CASE("Sequence keys sort numerically and decode back", "[unit][store][codec]") {
  CHECK(encode_u64(255) < encode_u64(256));
  CHECK(encode_u64(1) < encode_u64(1ULL << 40));
  CHECK(decode_u64(encode_u64(123456789), "k").value() == 123456789);
  CHECK(decode_u64("short", "meta key x").error().code == core::ErrorCode::corrupt);
  CHECK(subject_key("a", 1).starts_with(subject_prefix("a")));
  CHECK_FALSE(subject_key("ab", 1).starts_with(subject_prefix("a")));
}

TEST_CASE("JSON lines keep JSON payloads as values and others verbatim", "[unit][store][codec]") {
  EventRecord json_payload{3, 99, "K", {"a", "b"}, R"({"x":[1,2],"y":"z"})"};
  auto line = to_jsonl(json_payload);
  CHECK_THAT(line, Catch::Contains(R"("payload":{"x":[1,2],"y":"z"})"));
  CHECK(from_jsonl(line).value() == json_payload);

  EventRecord text_payload{4, -1, "K", {}, "plain \"text\"\n"};
  auto text_line = to_jsonl(text_payload);
  CHECK_THAT(text_line, Catch::Contains("payloadText"));
  CHECK(text_line.find('\n') == std::string::npos);
  CHECK(from_jsonl(text_line).value() == text_payload);

  CHECK(from_jsonl("{\"seq\":1}").error().code == core::ErrorCode::invalid);
  CHECK(from_jsonl("nope").error().code == core::ErrorCode::invalid);
}

}  // namespace podid::store
