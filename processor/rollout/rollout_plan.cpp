// Plan and status JSON (nlohmann): every field checked, errors name the field.
#include "rollout/rollout_plan.h"

#include <nlohmann/json.hpp>

#include "flags/flag_definition.h"

namespace patchstream::rollout {
namespace {

using nlohmann::json;

constexpr std::string_view kMetricNames[] = {"error_rate",  "success_rate",   "latency_p95",
                                             "latency_p99", "guard_failures", "dead_letters"};
constexpr std::string_view kStateNames[] = {"running", "paused", "completed", "aborted"};
constexpr std::string_view kVerdictNames[] = {"pass", "fail", "inconclusive"};

template <typename Enum, std::size_t N>
std::optional<Enum> from_name(const std::string_view (&names)[N], std::string_view name) {
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i] == name) return static_cast<Enum>(i);
  }
  return std::nullopt;
}

struct Reader {
  std::optional<PlanError> error;

  void fail(std::string field, std::string message) {
    if (!error) error = PlanError{std::move(field), std::move(message)};
  }

  std::optional<std::int64_t> integer(const json& object, const char* key, const std::string& at,
                                      std::int64_t min, std::int64_t max, bool required) {
    const auto it = object.find(key);
    if (it == object.end()) {
      if (required) fail(at + key, "is required");
      return std::nullopt;
    }
    if (!it->is_number_integer() || it->get<std::int64_t>() < min ||
        it->get<std::int64_t>() > max) {
      fail(at + key,
           "must be an integer from " + std::to_string(min) + " to " + std::to_string(max));
      return std::nullopt;
    }
    return it->get<std::int64_t>();
  }
};

constexpr std::int64_t kMaxMillis = 31LL * 24 * 3600 * 1000;  // a month

}  // namespace

std::string_view metric_name(GateMetric metric) noexcept {
  return kMetricNames[static_cast<std::size_t>(metric)];
}
std::string_view state_name(PlanState state) noexcept {
  return kStateNames[static_cast<std::size_t>(state)];
}
std::string_view verdict_name(Verdict verdict) noexcept {
  return kVerdictNames[static_cast<std::size_t>(verdict)];
}

std::variant<Plan, PlanError> parse_plan(std::string_view text) {
  const json body = json::parse(text, nullptr, false);
  if (body.is_discarded() || !body.is_object())
    return PlanError{"", "the plan must be a JSON object"};
  Reader r;
  Plan plan;
  for (const auto& [key, value] : body.items()) {
    if (key != "flag" && key != "waves" && key != "gates") r.fail(key, "is not a plan field");
  }
  if (const auto it = body.find("flag"); it == body.end() || !it->is_string()) {
    r.fail("flag", "is required (the flag's name)");
  } else {
    plan.flag = it->get<std::string>();
    if (auto e = flags::check_flag_name(plan.flag)) r.fail("flag", e->message);
  }
  const auto waves = body.find("waves");
  if (waves == body.end() || !waves->is_array() || waves->empty() || waves->size() > kMaxWaves) {
    r.fail("waves", "must be an array of 1 to " + std::to_string(kMaxWaves) + " waves");
  } else {
    for (std::size_t i = 0; i < waves->size(); ++i) {
      const json& w = (*waves)[i];
      const std::string at = "waves[" + std::to_string(i) + "].";
      if (!w.is_object()) {
        r.fail(at, "must be an object");
        continue;
      }
      for (const auto& [key, value] : w.items()) {
        if (key != "percentage" && key != "hold_ms" && key != "min_samples" && key != "max_hold_ms")
          r.fail(at + key, "is not a wave field");
      }
      Wave wave;
      wave.percentage = static_cast<int>(r.integer(w, "percentage", at, 1, 100, true).value_or(0));
      wave.hold = Millis(r.integer(w, "hold_ms", at, 0, kMaxMillis, true).value_or(0));
      wave.min_samples = static_cast<std::uint64_t>(
          r.integer(w, "min_samples", at, 1, 1'000'000'000, true).value_or(1));
      wave.max_hold = Millis(r.integer(w, "max_hold_ms", at, 0, kMaxMillis, false).value_or(0));
      if (wave.max_hold.count() > 0 && wave.max_hold < wave.hold)
        r.fail(at + "max_hold_ms", "must be 0 (no limit) or at least hold_ms");
      if (!plan.waves.empty() && wave.percentage <= plan.waves.back().percentage)
        r.fail(at + "percentage", "must be above the previous wave's");
      plan.waves.push_back(wave);
    }
  }
  if (const auto gates = body.find("gates"); gates != body.end()) {
    if (!gates->is_array() || gates->size() > kMaxGates) {
      r.fail("gates", "must be an array of at most " + std::to_string(kMaxGates) + " gates");
    } else {
      for (std::size_t i = 0; i < gates->size(); ++i) {
        const json& g = (*gates)[i];
        const std::string at = "gates[" + std::to_string(i) + "].";
        if (!g.is_object()) {
          r.fail(at, "must be an object");
          continue;
        }
        Gate gate;
        const auto metric = g.find("metric");
        std::optional<GateMetric> m;
        if (metric != g.end() && metric->is_string())
          m = from_name<GateMetric>(kMetricNames, metric->get<std::string>());
        if (!m) {
          r.fail(at + "metric",
                 "must be error_rate, success_rate, latency_p95, latency_p99, guard_failures or "
                 "dead_letters");
        } else {
          gate.metric = *m;
        }
        const auto threshold = g.find("threshold");
        if (threshold == g.end() || !threshold->is_number() || threshold->get<double>() < 0) {
          r.fail(at + "threshold", "must be a number >= 0");
        } else {
          gate.threshold = threshold->get<double>();
          const bool rate =
              gate.metric == GateMetric::error_rate || gate.metric == GateMetric::success_rate;
          if (rate && gate.threshold > 1) r.fail(at + "threshold", "a rate is from 0 to 1");
        }
        const auto on_fail = g.find("on_fail");
        if (on_fail != g.end()) {
          if (*on_fail == "rollback") {
            gate.on_fail = OnFail::rollback;
          } else if (*on_fail == "pause") {
            gate.on_fail = OnFail::pause;
          } else {
            r.fail(at + "on_fail", "must be rollback or pause");
          }
        }
        for (const auto& [key, value] : g.items()) {
          if (key != "metric" && key != "threshold" && key != "on_fail")
            r.fail(at + key, "is not a gate field");
        }
        plan.gates.push_back(gate);
      }
    }
  }
  if (r.error) return *r.error;
  return plan;
}

namespace {

json plan_to_json(const Plan& plan) {
  json waves = json::array();
  for (const Wave& w : plan.waves) {
    waves.push_back({{"percentage", w.percentage},
                     {"hold_ms", w.hold.count()},
                     {"min_samples", w.min_samples},
                     {"max_hold_ms", w.max_hold.count()}});
  }
  json gates = json::array();
  for (const Gate& g : plan.gates) {
    gates.push_back({{"metric", metric_name(g.metric)},
                     {"threshold", g.threshold},
                     {"on_fail", g.on_fail == OnFail::rollback ? "rollback" : "pause"}});
  }
  return {{"flag", plan.flag}, {"waves", std::move(waves)}, {"gates", std::move(gates)}};
}

}  // namespace

std::string plan_json(const Plan& plan) {
  return plan_to_json(plan).dump();
}

std::string status_json(const RolloutStatus& s) {
  json gates = json::array();
  for (const GateResult& g : s.gates) {
    gates.push_back({{"metric", metric_name(g.metric)},
                     {"result", verdict_name(g.verdict)},
                     {"value", g.value},
                     {"threshold", g.threshold},
                     {"samples", g.samples}});
  }
  return json{{"plan", plan_to_json(s.plan)},     {"version", s.version},
              {"state", state_name(s.state)},     {"wave", s.wave},
              {"wave_since_ms", s.wave_since_ms}, {"state_since_ms", s.state_since_ms},
              {"wave_revision", s.wave_revision}, {"reason", s.reason},
              {"gates", std::move(gates)}}
      .dump();
}

std::optional<RolloutStatus> parse_status(std::string_view text) {
  const json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("plan")) return std::nullopt;
  auto plan = parse_plan(j["plan"].dump());
  if (!std::holds_alternative<Plan>(plan)) return std::nullopt;
  try {
    RolloutStatus s;
    s.plan = std::get<Plan>(std::move(plan));
    s.version = j.at("version").get<std::uint64_t>();
    const auto state = from_name<PlanState>(kStateNames, j.at("state").get<std::string>());
    if (!state) return std::nullopt;
    s.state = *state;
    s.wave = j.at("wave").get<std::size_t>();
    if (s.wave >= s.plan.waves.size()) return std::nullopt;
    s.wave_since_ms = j.at("wave_since_ms").get<std::int64_t>();
    s.state_since_ms = j.at("state_since_ms").get<std::int64_t>();
    s.wave_revision = j.at("wave_revision").get<std::uint64_t>();
    s.reason = j.at("reason").get<std::string>();
    for (const json& g : j.at("gates")) {
      GateResult r;
      const auto m = from_name<GateMetric>(kMetricNames, g.at("metric").get<std::string>());
      const auto v = from_name<Verdict>(kVerdictNames, g.at("result").get<std::string>());
      if (!m || !v) return std::nullopt;
      r.metric = *m;
      r.verdict = *v;
      r.value = g.at("value").get<double>();
      r.threshold = g.at("threshold").get<double>();
      r.samples = g.at("samples").get<std::uint64_t>();
      s.gates.push_back(r);
    }
    return s;
  } catch (const json::exception&) {
    return std::nullopt;  // a stored status this build cannot read is treated as no plan
  }
}

}  // namespace patchstream::rollout
