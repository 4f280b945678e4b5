#include "store/event_log.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <functional>
#include <future>
#include <optional>

#include "core/event_codec.hpp"
#include "core/projection.hpp"
#include "core/state_codec.hpp"
#include "store/checkpoint_codec.hpp"

namespace podid::store {
namespace {

constexpr std::size_t kPage = 4096;

// One page of the log, read and decoded: the events in order, then (if any) the error that stopped it.
struct DecodedPage {
  std::vector<std::pair<Seq, core::Event>> events;
  std::optional<core::Error> error;
  Seq next{0};  // the seq after the last record read
  bool empty{false};
};

DecodedPage read_page(const EventStore& store, Seq from, Seq end) {
  DecodedPage out;
  out.next = from;
  auto read = store.read(from, std::min<std::size_t>(kPage, end - from + 1));
  if (!read) {
    out.error = read.error();
    return out;
  }
  const std::vector<EventRecord> records = std::move(read).value();
  out.empty = records.empty();
  out.events.reserve(records.size());
  for (const auto& rec : records) {
    auto event = from_record(rec);
    if (!event) {
      out.error = event.error();
      return out;
    }
    out.events.emplace_back(rec.seq, std::move(event).value());
    out.next = rec.seq + 1;
  }
  return out;
}

// The State a checkpoint holds; a checkpoint that does not parse or decode is corruption, named by its seq.
core::Result<core::State> decode_checkpoint(const Checkpoint& cp) {
  const auto corrupt = [&cp](const std::string& why) {
    return core::make_error(core::ErrorCode::corrupt, "checkpoint " + std::to_string(cp.seq) + ": " + why);
  };
  auto text = checkpoint_text(cp.state);
  if (!text) return corrupt(text.error().message);
  boost::system::error_code ec;
  const auto json = boost::json::parse(*text, ec);
  if (ec) return corrupt(ec.message());
  auto state = core::decode_state(json);
  if (!state) return corrupt(state.error().message);
  return state;
}

}  // namespace

NewEvent to_record(const core::Event& e) {
  return NewEvent{core::at_ms_of(e), std::string(core::kind_of(e)), core::subjects(e), core::encode_line(e)};
}

core::Result<core::Event> from_record(const EventRecord& r) {
  auto decoded = core::decode_line(r.payload);
  if (!decoded) {
    auto err = decoded.error();
    err.message = "event " + std::to_string(r.seq) + " (" + r.kind + "): " + err.message;
    return err;
  }
  return decoded;
}

core::Result<Seq> EventLog::append(std::span<const core::Event> events, std::span<const Cursor> cursors) {
  std::vector<NewEvent> batch;
  batch.reserve(events.size());
  for (const auto& e : events) batch.push_back(to_record(e));
  return store_.append(batch, cursors);
}

core::Result<std::uint64_t> EventLog::catch_up(core::State& state, std::optional<Seq> upto) const {
  std::uint64_t applied = 0;
  Seq next = state.last_seq + 1;
  const Seq end = upto ? std::min(*upto, store_.last_seq()) : store_.last_seq();
  if (next < store_.first_seq()) {
    // Retention dropped events this reader had not applied yet (it follows the log behind the reader that
    // checkpoints, as the ingest's projection does behind the controller's). Retention keeps everything
    // after the newest checkpoint, and a checkpoint is the projection of every event up to its seq: jump.
    const auto cp = PODID_TRY(store_.latest_checkpoint());
    if (!cp || cp->seq < state.last_seq || cp->seq + 1 < store_.first_seq() || (upto && cp->seq > *upto))
      return core::make_error(core::ErrorCode::gone, "retention dropped events " + std::to_string(next) +
                                                         ".." + std::to_string(store_.first_seq() - 1) +
                                                         "; start from a checkpoint");
    state = PODID_TRY(decode_checkpoint(*cp));
    next = state.last_seq + 1;
  }
  // Reading and decoding page k+1 (on a helper thread) overlaps applying page k (on this one) once there is
  // more than a page to do. The store is touched by one thread at a time (the helper, between hand-overs
  // through the future), events are applied in log order on the calling thread, and an error stops at the
  // same event as a plain loop would, with the events before it applied: the result is the same.
  const bool pipelined = end >= next && end - next >= kPage;
  std::future<DecodedPage> ahead;
  if (pipelined) ahead = std::async(std::launch::async, read_page, std::cref(store_), next, end);
  while (next <= end) {
    DecodedPage page = pipelined ? ahead.get() : read_page(store_, next, end);
    if (pipelined && !page.error && !page.empty && page.next <= end)
      ahead = std::async(std::launch::async, read_page, std::cref(store_), page.next, end);
    for (const auto& [seq, event] : page.events)
      if (core::apply(state, event, seq)) ++applied;
    if (page.error) return *page.error;
    if (page.empty) break;
    next = page.next;
  }
  return applied;
}

core::Result<Rebuilt> EventLog::rebuild(const RebuildOptions& options) const {
  Rebuilt out;
  if (options.use_checkpoint && !options.until_ms) {
    const auto cp = PODID_TRY(store_.latest_checkpoint());
    if (cp && (!options.upto || cp->seq <= *options.upto)) {
      out.state = PODID_TRY(decode_checkpoint(*cp));
      out.from_checkpoint = cp->seq;
    }
  }
  if (options.until_ms) {
    // Time travel: replay from the start and stop before the first event recorded after until_ms.
    if (store_.first_seq() > 1)
      return core::make_error(core::ErrorCode::gone,
                              "retention dropped the start of the log; cannot replay by time");
    Seq next = 1;
    const Seq end = options.upto ? std::min(*options.upto, store_.last_seq()) : store_.last_seq();
    while (next <= end) {
      auto page = PODID_TRY(store_.read(next, std::min<std::size_t>(kPage, end - next + 1)));
      if (page.empty()) break;
      for (const auto& rec : page) {
        if (rec.at_ms > *options.until_ms) return out;
        const auto event = PODID_TRY(from_record(rec));
        if (core::apply(out.state, event, rec.seq)) ++out.replayed;
        next = rec.seq + 1;
      }
    }
    return out;
  }
  if (out.state.last_seq + 1 < store_.first_seq()) {
    // The log lacks the events between the usable state and its start: they were dropped by retention or
    // never imported (a store imported from a support bundle holds its newest events only). Say so rather
    // than replaying a tail onto an empty state.
    const Seq end = options.upto ? std::min(*options.upto, store_.last_seq()) : store_.last_seq();
    const auto cp = PODID_TRY(store_.latest_checkpoint());
    std::string why = !options.use_checkpoint ? "checkpoints were not to be used"
                      : cp ? "its newest checkpoint is at event " + std::to_string(cp->seq) + ", after that"
                           : "it holds no checkpoint";
    return core::make_error(core::ErrorCode::gone, "cannot rebuild the state at event " +
                                                       std::to_string(end) +
                                                       ": the log does not reach back that far (it starts at "
                                                       "event " +
                                                       std::to_string(store_.first_seq()) + ") and " + why);
  }
  out.replayed = PODID_TRY(catch_up(out.state, options.upto));
  return out;
}

core::Status EventLog::verify() const {
  const auto corrupt = [](std::string why) {
    return core::make_error(core::ErrorCode::corrupt, std::move(why));
  };
  const Seq end = store_.last_seq();
  for (Seq next = store_.first_seq(); next <= end;) {
    auto page = store_.read(next, std::min<std::size_t>(kPage, end - next + 1));
    if (!page) {
      const auto& e = page.error();
      if (e.code == core::ErrorCode::io || e.code == core::ErrorCode::transient) return e;
      return corrupt("reading event " + std::to_string(next) + ": " + e.message);
    }
    if (page->empty() || page->front().seq != next)
      return corrupt("event " + std::to_string(next) + " is missing from the log (it ends at " +
                     std::to_string(end) + ")");
    for (const auto& rec : *page) {
      if (auto event = from_record(rec); !event) return corrupt(event.error().message);
    }
    next = page->back().seq + 1;
  }
  const auto cp = PODID_TRY(store_.latest_checkpoint());
  if (!cp) return core::ok();
  if (cp->seq > end)
    return corrupt("checkpoint " + std::to_string(cp->seq) + " is past the last event " +
                   std::to_string(end));
  if (auto state = decode_checkpoint(*cp); !state) return state.error();
  return core::ok();
}

core::Status EventLog::checkpoint(const core::State& state) {
  auto stored = PODID_TRY(encode_checkpoint(state));
  return store_.put_checkpoint(Checkpoint{state.last_seq, std::move(stored)});
}

core::Result<std::vector<std::pair<Seq, core::Event>>> EventLog::history(std::string_view subject) const {
  std::vector<std::pair<Seq, core::Event>> out;
  Seq next = 0;
  for (;;) {
    auto page = PODID_TRY(store_.read_subject(subject, next, kPage));
    if (page.empty()) break;
    for (const auto& rec : page) {
      out.emplace_back(rec.seq, PODID_TRY(from_record(rec)));
      next = rec.seq + 1;
    }
    if (page.size() < kPage) break;
  }
  return out;
}

}  // namespace podid::store
