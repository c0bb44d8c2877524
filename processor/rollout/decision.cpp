// Gate judgement and plan transitions (SPEC §3): inconclusive never advances, abort always wins.
#include "rollout/decision.h"

#include <cstdio>

namespace patchstream::rollout {
namespace {

bool fails_below(GateMetric metric) {
  return metric == GateMetric::success_rate;
}

std::string number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.4g", value);
  return text;
}

std::string seconds_text(Millis ms) {
  return number(static_cast<double>(ms.count()) / 1000.0) + " s";
}

}  // namespace

std::vector<GateResult> judge_gates(const Plan& plan, const Wave& wave, const Evidence& e) {
  std::vector<GateResult> results;
  const bool enough = e.batches >= wave.min_samples;
  for (const Gate& gate : plan.gates) {
    GateResult r;
    r.metric = gate.metric;
    r.threshold = gate.threshold;
    r.samples = e.batches;
    const double batches = static_cast<double>(e.batches);
    bool count = false;
    switch (gate.metric) {
      case GateMetric::error_rate:
        r.value = e.batches ? static_cast<double>(e.rejected + e.failed) / batches : 0;
        break;
      case GateMetric::success_rate:
        r.value = e.batches ? static_cast<double>(e.applied) / batches : 0;
        break;
      case GateMetric::latency_p95:
        r.value = e.latency.quantile(0.95);
        r.samples = e.latency.count();
        break;
      case GateMetric::latency_p99:
        r.value = e.latency.quantile(0.99);
        r.samples = e.latency.count();
        break;
      case GateMetric::guard_failures:
        r.value = static_cast<double>(e.guard_failures);
        count = true;
        break;
      case GateMetric::dead_letters:
        r.value = static_cast<double>(e.dead_letters);
        count = true;
        break;
    }
    const bool crossed =
        fails_below(gate.metric) ? r.value < gate.threshold : r.value > gate.threshold;
    // A count only grows: once over its threshold it has failed, however few the samples. A rate or
    // a percentile needs min_samples either way: low traffic is never health, nor failure.
    if (count && crossed) {
      r.verdict = Verdict::fail;
    } else if (!enough) {
      r.verdict = Verdict::inconclusive;
    } else {
      r.verdict = crossed ? Verdict::fail : Verdict::pass;
    }
    results.push_back(r);
  }
  return results;
}

std::string describe(const std::vector<GateResult>& gates) {
  std::string out;
  for (const GateResult& g : gates) {
    if (!out.empty()) out += "; ";
    out += std::string(metric_name(g.metric)) + " " + std::string(verdict_name(g.verdict)) + " " +
           number(g.value) + (fails_below(g.metric) ? " vs min " : " vs max ") +
           number(g.threshold) + " on " + std::to_string(g.samples) + " samples";
  }
  return out.empty() ? "no gates" : out;
}

Decision decide(const RolloutStatus& s, const Evidence& evidence, std::int64_t now_ms) {
  Decision d;
  if (s.state != PlanState::running) return d;
  const Wave& wave = s.plan.waves[s.wave];
  d.gates = judge_gates(s.plan, wave, evidence);
  const std::string where =
      "wave " + std::to_string(s.wave + 1) + " (" + std::to_string(wave.percentage) + " %): ";
  for (const OnFail severity : {OnFail::rollback, OnFail::pause}) {
    for (std::size_t i = 0; i < d.gates.size(); ++i) {
      const GateResult& g = d.gates[i];
      if (g.verdict != Verdict::fail || s.plan.gates[i].on_fail != severity) continue;
      d.action = severity == OnFail::rollback ? Action::rollback : Action::pause;
      d.reason = where + "gate " + std::string(metric_name(g.metric)) +
                 " failed: " + number(g.value) + (fails_below(g.metric) ? " < " : " > ") +
                 number(g.threshold) + " on " + std::to_string(g.samples) + " samples";
      return d;
    }
  }
  const Millis held(now_ms - s.wave_since_ms);
  if (evidence.batches < wave.min_samples) {
    if (wave.max_hold.count() > 0 && held >= wave.max_hold) {
      d.action = Action::pause;
      d.reason = where + "inconclusive: " + std::to_string(evidence.batches) + " of " +
                 std::to_string(wave.min_samples) + " samples after " + seconds_text(held) +
                 " (max_hold " + seconds_text(wave.max_hold) + ")";
    }
    return d;
  }
  if (held < wave.hold) return d;
  const bool last = s.wave + 1 == s.plan.waves.size();
  d.action = last ? Action::complete : Action::advance;
  d.reason = where + "healthy after " + seconds_text(held) + ": " + describe(d.gates);
  return d;
}

namespace {

Transition enter_wave(RolloutStatus s, std::size_t wave, std::int64_t now_ms) {
  s.wave = wave;
  s.wave_since_ms = now_ms;
  s.state = PlanState::running;
  s.state_since_ms = now_ms;
  return {s, s.plan.waves[wave].percentage, true};
}

Transition same_wave(RolloutStatus s, PlanState state, std::int64_t now_ms, int percentage) {
  s.state = state;
  s.state_since_ms = now_ms;
  return {std::move(s), percentage, false};
}

}  // namespace

Transition start_plan(Plan plan, const std::optional<RolloutStatus>& previous,
                      std::int64_t now_ms) {
  RolloutStatus s;
  s.plan = std::move(plan);
  s.version = previous ? previous->version + 1 : 1;
  s.reason = "plan started";
  return enter_wave(std::move(s), 0, now_ms);
}

Transition apply_decision(const RolloutStatus& status, const Decision& d, std::int64_t now_ms) {
  RolloutStatus s = status;
  s.reason = d.reason;
  s.gates = d.gates;
  const int current = s.plan.waves[s.wave].percentage;
  switch (d.action) {
    case Action::hold:
      return {s, current, false};
    case Action::advance:
      return enter_wave(std::move(s), status.wave + 1, now_ms);
    case Action::complete:
      return same_wave(std::move(s), PlanState::completed, now_ms, current);
    case Action::pause:
      return same_wave(std::move(s), PlanState::paused, now_ms, current);
    case Action::rollback:
      return {same_wave(std::move(s), PlanState::aborted, now_ms, 0).status, 0, true};
  }
  return {s, current, false};
}

std::optional<Control> parse_control(std::string_view name) {
  for (const Control c :
       {Control::pause, Control::resume, Control::promote, Control::abort, Control::retry}) {
    if (control_name(c) == name) return c;
  }
  return std::nullopt;
}

std::string_view control_name(Control control) noexcept {
  switch (control) {
    case Control::pause:
      return "pause";
    case Control::resume:
      return "resume";
    case Control::promote:
      return "promote";
    case Control::abort:
      return "abort";
    case Control::retry:
      return "retry";
  }
  return "unknown";
}

std::optional<Transition> apply_control(const RolloutStatus& status, Control control,
                                        std::int64_t now_ms, std::string_view actor) {
  const bool active = status.state == PlanState::running || status.state == PlanState::paused;
  const int current = status.plan.waves[status.wave].percentage;
  RolloutStatus s = status;
  s.reason = std::string(control_name(control)) + " by " + std::string(actor);
  switch (control) {
    case Control::pause:
      if (status.state != PlanState::running) return std::nullopt;
      return same_wave(std::move(s), PlanState::paused, now_ms, current);
    case Control::resume: {
      if (status.state != PlanState::paused) return std::nullopt;
      // The hold starts again (a paused wave was not being judged); its evidence is kept.
      auto t = same_wave(std::move(s), PlanState::running, now_ms, current);
      t.status.wave_since_ms = now_ms;
      return t;
    }
    case Control::promote:
      if (!active) return std::nullopt;
      if (status.wave + 1 == status.plan.waves.size())
        return same_wave(std::move(s), PlanState::completed, now_ms, current);
      return enter_wave(std::move(s), status.wave + 1, now_ms);
    case Control::abort:
      if (!active) return std::nullopt;
      return Transition{same_wave(std::move(s), PlanState::aborted, now_ms, 0).status, 0, true};
    case Control::retry:
      if (status.state != PlanState::aborted) return std::nullopt;
      s.gates.clear();
      return enter_wave(std::move(s), 0, now_ms);
  }
  return std::nullopt;
}

}  // namespace patchstream::rollout
