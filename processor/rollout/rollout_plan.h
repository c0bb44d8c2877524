// A rollout plan (SPEC §3): waves with hold, minimum samples and gates, and the plan's state as it
// is kept inside the flag it belongs to.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace patchstream::rollout {

using Millis = std::chrono::milliseconds;

// What a gate measures on a wave's evidence (pipeline batches of the wave's users, every instance).
enum class GateMetric : std::uint8_t {
  error_rate,      // (rejected + failed) / batches; fails above the threshold
  success_rate,    // applied / batches; fails below
  latency_p95,     // seconds; fails above
  latency_p99,     // seconds; fails above
  guard_failures,  // internal invariant guard failures, a count; fails above
  dead_letters,    // dead-lettered input, a count; fails above
};
enum class OnFail : std::uint8_t { rollback, pause };

struct Gate {
  GateMetric metric = GateMetric::error_rate;
  double threshold = 0;
  OnFail on_fail = OnFail::rollback;
  bool operator==(const Gate&) const = default;
};

struct Wave {
  int percentage = 0;             // 1..100, strictly increasing over the plan
  Millis hold{0};                 // at least this long at the wave before it advances
  std::uint64_t min_samples = 0;  // pipeline batches, all instances, since the wave took effect
  Millis max_hold{0};             // inconclusive this long: the plan pauses (0: never)
  bool operator==(const Wave&) const = default;
};

struct Plan {
  std::string flag;
  std::vector<Wave> waves;
  std::vector<Gate> gates;
  bool operator==(const Plan&) const = default;
};

struct PlanError {
  std::string field;  // JSON path, e.g. "waves[2].percentage"
  std::string message;
};

// Limits that keep a plan (stored inside its flag) small.
inline constexpr std::size_t kMaxWaves = 20;
inline constexpr std::size_t kMaxGates = 20;

// Parses and validates the body of POST /admin/rollouts (schemas/rollout-plan.schema.json).
std::variant<Plan, PlanError> parse_plan(std::string_view json);
std::string plan_json(const Plan& plan);

enum class PlanState : std::uint8_t { running, paused, completed, aborted };
enum class Verdict : std::uint8_t { pass, fail, inconclusive };

struct GateResult {
  GateMetric metric = GateMetric::error_rate;
  Verdict verdict = Verdict::inconclusive;
  double value = 0;
  double threshold = 0;
  std::uint64_t samples = 0;
  bool operator==(const GateResult&) const = default;
};

// The plan's state, stored in FlagDefinition::rollout. Times are wall-clock milliseconds since the
// epoch: every instance judges holds against the same instant.
struct RolloutStatus {
  Plan plan;
  std::uint64_t version = 1;  // how many plans this flag has had; a new plan gets the next one
  PlanState state = PlanState::running;
  std::size_t wave = 0;             // index into plan.waves
  std::int64_t wave_since_ms = 0;   // when the current wave's percentage took effect
  std::int64_t state_since_ms = 0;  // when the state last changed (paused since, ...)
  std::uint64_t wave_revision = 0;  // the flag revision that set the wave's percentage
  std::string reason;               // why the last transition happened
  std::vector<GateResult> gates;    // the gate results behind the last transition
  bool operator==(const RolloutStatus&) const = default;
};

std::string status_json(const RolloutStatus& status);
std::optional<RolloutStatus> parse_status(std::string_view json);

std::string_view metric_name(GateMetric metric) noexcept;
std::string_view state_name(PlanState state) noexcept;
std::string_view verdict_name(Verdict verdict) noexcept;

}  // namespace patchstream::rollout
