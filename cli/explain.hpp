#pragma once
// Explanations in words for `podidctl replay --explain`: what the log says about a pod, an identity or a VM,
// and why the projection decided what it did. Presentation only; the facts come from core::State and the
// subject's history in the log.

#include <string>
#include <utility>
#include <vector>

#include "core/events.hpp"
#include "core/result.hpp"
#include "core/state.hpp"

namespace podid::cli {

// One line describing an event, e.g. "pod default/demo observed on node n1 with IP 10.0.0.5, label demo".
[[nodiscard]] std::string describe(const core::Event& e);
// The same, completed from the replayed state where the event alone cannot say (a detach that repairs an
// identity re-created in Azure).
[[nodiscard]] std::string describe(const core::Event& e, const core::State& state);

// "pod/<ns>/<name>", "identity/<ns>/<name>", "vm/<sub>/<rg>/<name>" or "vmss/...": the explanation as lines.
// Errors: invalid when the subject is malformed.
[[nodiscard]] core::Result<std::vector<std::string>> explain(
    const core::State& state, std::string_view subject,
    const std::vector<std::pair<core::Seq, core::Event>>& history);

}  // namespace podid::cli
