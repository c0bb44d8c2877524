// Rollout plans: parsing, gate judgement (pass / fail / inconclusive), controls, and the controller
// over a real catalog: post-change evidence only, one transition per step across controllers.
#include <gtest/gtest.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <thread>

#include "flags/flag_catalog.h"
#include "flags/memory_flag_store.h"
#include "rollout/decision.h"
#include "rollout/rollout_controller.h"

namespace patchstream::rollout {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr std::string_view kPlan = R"({"flag":"f","waves":[
  {"percentage":10,"hold_ms":1000,"min_samples":100,"max_hold_ms":5000},
  {"percentage":50,"hold_ms":1000,"min_samples":100},
  {"percentage":100,"hold_ms":0,"min_samples":10}],
  "gates":[{"metric":"error_rate","threshold":0.05,"on_fail":"rollback"},
           {"metric":"latency_p99","threshold":1.5,"on_fail":"pause"},
           {"metric":"guard_failures","threshold":0}]})";

Plan plan() {
  auto parsed = parse_plan(kPlan);
  EXPECT_TRUE(std::holds_alternative<Plan>(parsed));
  return std::get<Plan>(parsed);
}

Evidence healthy(std::uint64_t n, double latency = 0.002) {
  Evidence e;
  e.batches = e.applied = n;
  for (std::uint64_t i = 0; i < n; ++i)
    e.latency.record(latency);
  return e;
}

TEST(RolloutPlan, ParsesAndRoundTrips) {
  const Plan p = plan();
  ASSERT_EQ(p.waves.size(), 3u);
  EXPECT_EQ(p.waves[0].max_hold, 5000ms);
  EXPECT_EQ(p.gates[2].on_fail, OnFail::rollback);  // the default
  const auto again = parse_plan(plan_json(p));
  ASSERT_TRUE(std::holds_alternative<Plan>(again));
  EXPECT_EQ(std::get<Plan>(again), p);
}

TEST(RolloutPlan, RejectsWhatCannotWork) {
  const auto error = [](std::string_view text) {
    auto parsed = parse_plan(text);
    return std::holds_alternative<PlanError>(parsed) ? std::get<PlanError>(parsed).field
                                                     : std::string("(accepted)");
  };
  EXPECT_EQ(error(R"({"flag":"f","waves":[{"percentage":50,"hold_ms":0,"min_samples":1},
                    {"percentage":25,"hold_ms":0,"min_samples":1}]})"),
            "waves[1].percentage");
  EXPECT_EQ(error(R"({"flag":"f","waves":[]})"), "waves");
  EXPECT_EQ(error(R"({"flag":"f","waves":[{"percentage":10,"hold_ms":0}]})"),
            "waves[0].min_samples");
  EXPECT_EQ(error(R"({"flag":"f","waves":[{"percentage":10,"hold_ms":0,"min_samples":1}],
                    "gates":[{"metric":"error_rate","threshold":5}]})"),
            "gates[0].threshold");
  EXPECT_EQ(error(R"({"flag":"f","waves":[{"percentage":10,"hold_ms":0,"min_samples":1}],
                    "gates":[{"metric":"vibes","threshold":1}]})"),
            "gates[0].metric");
  EXPECT_EQ(error(R"({"flag":"f","waves":[{"percentage":10,"hold_ms":0,"min_samples":1,"x":1}]})"),
            "waves[0].x");
  EXPECT_EQ(error("not json"), "");
}

RolloutStatus running_at(std::size_t wave, std::int64_t since_ms) {
  RolloutStatus s = start_plan(plan(), std::nullopt, since_ms).status;
  s.wave = wave;
  return s;
}

TEST(Decision, TooFewSamplesIsInconclusiveAndNeverAdvances) {
  const auto s = running_at(0, 0);
  const Decision d = decide(s, healthy(99), 4000);
  EXPECT_EQ(d.action, Action::hold);
  EXPECT_EQ(d.gates[0].verdict, Verdict::inconclusive);
  // No data at all is no better.
  EXPECT_EQ(decide(s, {}, 4000).action, Action::hold);
}

TEST(Decision, InconclusivePastMaxHoldPausesAndSaysWhy) {
  const Decision d = decide(running_at(0, 0), healthy(12), 5000);
  EXPECT_EQ(d.action, Action::pause);
  EXPECT_NE(d.reason.find("inconclusive: 12 of 100 samples"), std::string::npos) << d.reason;
}

TEST(Decision, AdvancesOnlyAfterHoldWithSamplesAndPassingGates) {
  const auto s = running_at(0, 0);
  EXPECT_EQ(decide(s, healthy(500), 999).action, Action::hold);
  const Decision d = decide(s, healthy(500), 1000);
  EXPECT_EQ(d.action, Action::advance);
  EXPECT_EQ(d.gates[0].verdict, Verdict::pass);
  EXPECT_EQ(decide(running_at(2, 0), healthy(10), 0).action, Action::complete);
}

TEST(Decision, FailingRateGateRollsBackNamingValueThresholdAndSamples) {
  Evidence e = healthy(200);
  e.applied = 180;
  e.rejected = 20;  // 10 %
  const Decision d = decide(running_at(1, 0), e, 10);
  EXPECT_EQ(d.action, Action::rollback);
  EXPECT_NE(d.reason.find("error_rate failed: 0.1 > 0.05 on 200 samples"), std::string::npos)
      << d.reason;
  const Transition t = apply_decision(running_at(1, 0), d, 10);
  EXPECT_EQ(t.percentage, 0);
  EXPECT_EQ(t.status.state, PlanState::aborted);
}

TEST(Decision, PauseGateAndCountGate) {
  const Decision slow = decide(running_at(0, 0), healthy(200, 3.0), 10);
  EXPECT_EQ(slow.action, Action::pause);
  // One guard failure is a failure even on few samples (a count only grows).
  Evidence e = healthy(3);
  e.guard_failures = 1;
  EXPECT_EQ(decide(running_at(0, 0), e, 10).action, Action::rollback);
}

TEST(Decision, ControlsApplyOnlyWhereTheyMakeSense) {
  const auto s = running_at(0, 0);
  EXPECT_FALSE(apply_control(s, Control::resume, 1, "op"));
  EXPECT_FALSE(apply_control(s, Control::retry, 1, "op"));
  const auto paused = apply_control(s, Control::pause, 1, "op");
  ASSERT_TRUE(paused);
  EXPECT_FALSE(apply_control(paused->status, Control::pause, 2, "op"));
  EXPECT_EQ(decide(paused->status, healthy(1000), 100'000).action, Action::hold) << "pause freezes";
  const auto promoted = apply_control(paused->status, Control::promote, 2, "op");
  ASSERT_TRUE(promoted);
  EXPECT_EQ(promoted->percentage, 50);
  const auto aborted = apply_control(promoted->status, Control::abort, 3, "op");
  ASSERT_TRUE(aborted);
  EXPECT_EQ(aborted->percentage, 0);
  EXPECT_FALSE(apply_control(aborted->status, Control::promote, 4, "op"));
  const auto retried = apply_control(aborted->status, Control::retry, 4, "op");
  ASSERT_TRUE(retried);
  EXPECT_EQ(retried->status.wave, 0u);
  EXPECT_EQ(retried->percentage, 10);
}

TEST(Evidence, RoundTripsAndSumsOnlyPostChangeRecords) {
  EvidenceRecord r{"i1", "f", 10, 7, 1000, healthy(40, 0.01)};
  const auto parsed = parse_evidence(evidence_json(r));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->evidence.latency.count(), 40u);
  EXPECT_NEAR(parsed->evidence.latency.quantile(0.99), 0.01, 0.001);
  EvidenceBoard board;
  board.update(r);
  board.update({"i2", "f", 10, 8, 1000, healthy(30)});   // started after the change: counts
  board.update({"i3", "f", 10, 6, 1000, healthy(500)});  // from before the wave: ignored
  board.update({"i4", "f", 25, 9, 1000, healthy(500)});  // another percentage: ignored
  std::size_t instances = 0;
  EXPECT_EQ(board.wave_evidence("f", 10, 7, &instances).batches, 70u);
  EXPECT_EQ(instances, 2u);
}

class ControllerTest : public ::testing::Test {
 protected:
  ControllerTest()
      : log_(3, std::fopen("/dev/null", "w")),
        catalog_(store_, registry_),
        a_({.instance_id = "a"}, catalog_, log_),
        b_({.instance_id = "b"}, catalog_, log_) {
    flags::FlagDefinition f;
    f.name = "f";
    f.enabled = true;
    catalog_.declare({f});
  }

  json status(RolloutController& c) { return json::parse(c.status("f").body); }
  void evidence(std::uint64_t batches) {
    const auto s = status(a_);
    for (auto* c : {&a_, &b_}) {
      c->add_evidence({"a", "f", s["wave_percentage"], s["wave_revision"], 1, healthy(batches)});
    }
  }
  std::size_t transitions() {
    std::size_t n = 0;
    const auto history = catalog_.history("f");
    for (const auto& r : *history)
      n += r.by == kControllerActor;
    return n;
  }

  Logger log_;
  flags::MemoryFlagStore store_;
  flags::FlagRegistry registry_;
  flags::FlagCatalog catalog_;
  RolloutController a_, b_;
};

TEST_F(ControllerTest, RunsThePlanToCompletionOncePerTransition) {
  constexpr std::string_view quick = R"({"flag":"f","waves":[
    {"percentage":10,"hold_ms":0,"min_samples":5},{"percentage":100,"hold_ms":0,"min_samples":5}],
    "gates":[{"metric":"error_rate","threshold":0.05}]})";
  ASSERT_EQ(a_.start_plan(quick, "op").status, 200u);
  EXPECT_EQ(catalog_.get("f")->percentage, 10);
  EXPECT_EQ(a_.start_plan(quick, "op").status, 409u) << "a plan is running";
  a_.evaluate_now();
  b_.evaluate_now();
  EXPECT_EQ(catalog_.get("f")->percentage, 10) << "no evidence: inconclusive";
  evidence(5);
  b_.evaluate_now();
  a_.evaluate_now();  // same decision, but the flag moved: no second transition
  EXPECT_EQ(catalog_.get("f")->percentage, 100);
  EXPECT_EQ(transitions(), 1u);
  a_.evaluate_now();  // the old evidence is for 10 %: inconclusive at 100 %
  EXPECT_EQ(status(a_)["state"], "running");
  evidence(5);
  a_.evaluate_now();
  b_.evaluate_now();
  EXPECT_EQ(status(b_)["state"], "completed");
  EXPECT_EQ(transitions(), 2u);
  const auto history = catalog_.history("f");
  const auto last = history->back();
  EXPECT_NE(last.reason.find("error_rate pass 0 vs max 0.05 on 5 samples"), std::string::npos)
      << last.reason;
}

TEST_F(ControllerTest, ControlsAnswer409And404AndAbortWins) {
  ASSERT_EQ(a_.start_plan(kPlan, "op").status, 200u);
  EXPECT_EQ(a_.control("f", "resume", "op").status, 409u);
  EXPECT_EQ(a_.control("nope", "pause", "op").status, 404u);
  EXPECT_EQ(a_.control("f", "sideways", "op").status, 404u);
  EXPECT_EQ(a_.control("f", "promote", "op").status, 200u);
  EXPECT_EQ(catalog_.get("f")->percentage, 50);
  EXPECT_EQ(b_.control("f", "abort", "op").status, 200u);
  EXPECT_EQ(catalog_.get("f")->percentage, 0);
  const auto refused = a_.control("f", "promote", "op");
  EXPECT_EQ(refused.status, 409u);
  EXPECT_EQ(json::parse(refused.body)["state"], "aborted");
  EXPECT_EQ(a_.control("f", "retry", "op").status, 200u);
  EXPECT_EQ(catalog_.get("f")->percentage, 10);
}

TEST_F(ControllerTest, ManualPercentageChangeAbortsThePlan) {
  ASSERT_EQ(a_.start_plan(kPlan, "op").status, 200u);
  ASSERT_EQ(catalog_.rollback("f", "runbook", "operator").status, flags::ChangeStatus::applied);
  a_.evaluate_now();
  EXPECT_EQ(status(a_)["state"], "aborted");
  EXPECT_EQ(catalog_.get("f")->percentage, 0);
}

TEST_F(ControllerTest, RollbackRequestAbortsARunningPlan) {
  ASSERT_EQ(a_.start_plan(kPlan, "op").status, 200u);
  a_.start();
  a_.request_rollback("f", "auto-rollback: test");
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (status(a_)["state"] != "aborted" && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(5ms);
  EXPECT_EQ(status(a_)["state"], "aborted");
  EXPECT_EQ(catalog_.get("f")->percentage, 0);
  const auto history = catalog_.history("f");
  EXPECT_EQ(history->back().by, "auto-rollback");
}

}  // namespace
}  // namespace patchstream::rollout
