// The rollout's decisions as pure functions of the plan's state, the wave's evidence and the time:
// gates pass, fail or are inconclusive (too few samples), abort always wins, every transition says
// which value crossed which threshold on how many samples.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "rollout/evidence.h"
#include "rollout/rollout_plan.h"

namespace patchstream::rollout {

std::vector<GateResult> judge_gates(const Plan& plan, const Wave& wave, const Evidence& evidence);

enum class Action : std::uint8_t { hold, advance, complete, pause, rollback };

struct Decision {
  Action action = Action::hold;
  std::vector<GateResult> gates;
  std::string reason;  // for the audit trail and the status
};

// What the controller does now with a running plan (hold for any other state).
Decision decide(const RolloutStatus& status, const Evidence& evidence, std::int64_t now_ms);

// A change to write: the plan's next state and the flag percentage that goes with it.
struct Transition {
  RolloutStatus status;
  int percentage = 0;
  bool percentage_changes = false;  // the wave's evidence starts again (wave_revision moves)
};

// The plan's first wave; `previous` is the flag's earlier plan, if any (its version + 1 is used).
Transition start_plan(Plan plan, const std::optional<RolloutStatus>& previous, std::int64_t now_ms);
Transition apply_decision(const RolloutStatus& status, const Decision& decision,
                          std::int64_t now_ms);

enum class Control : std::uint8_t { pause, resume, promote, abort, retry };
std::optional<Control> parse_control(std::string_view name);
std::string_view control_name(Control control) noexcept;

// An operator's control, or nullopt when it does not apply to the current state (HTTP 409):
// pause while running; resume while paused; promote while running or paused; abort while running
// or paused; retry once aborted.
std::optional<Transition> apply_control(const RolloutStatus& status, Control control,
                                        std::int64_t now_ms, std::string_view actor);

// Human-readable gate results, e.g. "error_rate fail 0.42 > 0.05 on 120 samples".
std::string describe(const std::vector<GateResult>& gates);

}  // namespace patchstream::rollout
