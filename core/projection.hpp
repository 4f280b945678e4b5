#pragma once
// The projection: apply(State&, Event, Seq) folds one event into the state. Pure and deterministic: the same
// log always yields the same state, time comes only from the events' at_ms, and the order of every map is
// fixed. It recomputes desired assignments only for the pods an event can affect (see matching.hpp) and runs
// the assignment state machine (state.hpp) on ARM results and Azure observations.

#include <vector>

#include "core/events.hpp"
#include "core/state.hpp"

namespace podid::core {

// Applies `e`, recorded at sequence number `seq` (which must be greater than s.last_seq; smaller or equal
// sequence numbers are ignored, so replaying an overlap is harmless). Returns whether it was applied.
bool apply(State& s, const Event& e, Seq seq);

// Replays events numbered first_seq, first_seq + 1, ... onto s.
void replay(State& s, const std::vector<Event>& events, Seq first_seq = 1);

// The delay before retry number `attempt` (1-based): base * 2^(attempt-1), capped at max.
[[nodiscard]] std::int64_t backoff_ms(const RetryPolicy& p, int attempt) noexcept;

}  // namespace podid::core
