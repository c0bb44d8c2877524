// AlertEngine with an injected clock: fire, resolve, resend, minimum sample size, severities,
// every SPEC §4 alert kind, fingerprints and the postable alert's shape.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "alerting/alert_engine.h"

namespace patchstream::alerting {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// 2025-06-02T09:14:00Z
const WallTime kT0 = WallTime(std::chrono::seconds(1748855640));

AlertConfig test_config() {
  AlertConfig config;
  config.instance = "patchstream-test";
  config.runbook_base_url = "http://p0:9000/runbooks";
  config.window = 10s;
  config.window_slots = 10;
  config.min_samples = 10;
  config.resend_interval = 60s;
  config.memory_baseline_bytes = 100 << 20;
  config.memory_for = 0s;
  config.lag_window = 10s;
  config.stall_after = 5s;
  config.dead_letter_sustained_for = 30s;
  return config;
}

// n pipeline (or legacy) batches at `now`, the first `errors` of them rejected.
void feed(AlertEngine& engine, Route route, int n, int errors, WallTime now,
          double latency = 0.001) {
  const auto ok = route == Route::pipeline ? BatchStatus::applied : BatchStatus::forwarded;
  for (int i = 0; i < n; ++i) {
    engine.observe(route, i < errors ? BatchStatus::rejected : ok, latency, now);
  }
}

const AlertEvent* find(const std::vector<AlertEvent>& events, std::string_view name,
                       Severity severity, AlertRoute route = AlertRoute::pipeline) {
  for (const auto& event : events) {
    if (event.alertname == name && event.severity == severity && event.route == route) {
      return &event;
    }
  }
  return nullptr;
}

constexpr std::string_view kErrorRate = "PatchstreamErrorRateHigh";

TEST(AlertEngine, QuietOnHealthyTraffic) {
  AlertEngine engine(test_config());
  feed(engine, Route::pipeline, 100, 1, kT0);
  feed(engine, Route::legacy, 100, 0, kT0);
  engine.set_resident_memory(100 << 20);
  EXPECT_TRUE(engine.evaluate(kT0 + 1s).empty());
  EXPECT_FALSE(engine.critical_firing_for_pipeline());
}

TEST(AlertEngine, WarningAndCriticalAreSeparateAlerts) {
  AlertEngine engine(test_config());
  feed(engine, Route::pipeline, 100, 8, kT0);  // 8%: warning only
  auto events = engine.evaluate(kT0);
  const AlertEvent* warning = find(events, kErrorRate, Severity::warning);
  ASSERT_NE(warning, nullptr);
  EXPECT_EQ(warning->status, AlertStatus::firing);
  EXPECT_EQ(find(events, kErrorRate, Severity::critical), nullptr);
  EXPECT_NE(find(events, "PatchstreamSuccessRateLow", Severity::warning), nullptr);
  EXPECT_FALSE(warning->triggers_rollback());
  EXPECT_FALSE(engine.critical_firing_for_pipeline());
  const std::string warning_key = warning->key;

  feed(engine, Route::pipeline, 50, 50, kT0 + 1s);  // 58 of 150: critical as well
  events = engine.evaluate(kT0 + 1s);
  const AlertEvent* critical = find(events, kErrorRate, Severity::critical);
  ASSERT_NE(critical, nullptr);
  EXPECT_NE(critical->key, warning_key);
  EXPECT_TRUE(critical->triggers_rollback());
  EXPECT_TRUE(engine.critical_firing_for_pipeline());
  // The warning was just sent: not again before the resend interval.
  EXPECT_EQ(find(events, kErrorRate, Severity::warning), nullptr);
  EXPECT_TRUE(engine.firing(AlertKind::error_rate, AlertRoute::pipeline, Severity::warning));
}

TEST(AlertEngine, ResolvesOnceWithEndsAtTheResolveTime) {
  AlertEngine engine(test_config());
  feed(engine, Route::pipeline, 100, 20, kT0);
  ASSERT_NE(find(engine.evaluate(kT0), kErrorRate, Severity::critical), nullptr);

  // The errors leave the 10 s window; healthy traffic replaces them.
  feed(engine, Route::pipeline, 100, 0, kT0 + 15s);
  const auto events = engine.evaluate(kT0 + 15s);
  const AlertEvent* resolved = find(events, kErrorRate, Severity::critical);
  ASSERT_NE(resolved, nullptr);
  EXPECT_EQ(resolved->status, AlertStatus::resolved);
  const json value = json::parse(resolved->value);
  EXPECT_EQ(value["startsAt"], "2025-06-02T09:14:00.000Z");
  EXPECT_EQ(value["endsAt"], "2025-06-02T09:14:15.000Z");
  EXPECT_NE(find(events, kErrorRate, Severity::warning), nullptr);
  EXPECT_FALSE(engine.critical_firing_for_pipeline());

  feed(engine, Route::pipeline, 100, 0, kT0 + 16s);
  EXPECT_TRUE(engine.evaluate(kT0 + 16s).empty());
  EXPECT_TRUE(engine.evaluate(kT0 + 200s).empty());
}

TEST(AlertEngine, ResendsFiringEveryIntervalWithEndsAtFourIntervalsAhead) {
  AlertEngine engine(test_config());
  for (int second = 0; second <= 130; ++second) {
    const WallTime now = kT0 + std::chrono::seconds(second);
    feed(engine, Route::pipeline, 10, 5, now);
    const auto events = engine.evaluate(now);
    const AlertEvent* critical = find(events, kErrorRate, Severity::critical);
    if (second % 60 != 0) {
      EXPECT_EQ(critical, nullptr) << second;
      continue;
    }
    ASSERT_NE(critical, nullptr) << second;
    EXPECT_EQ(critical->status, AlertStatus::firing);
    const json value = json::parse(critical->value);
    EXPECT_EQ(value["startsAt"], "2025-06-02T09:14:00.000Z");
    EXPECT_EQ(value["endsAt"], format_rfc3339(now + 240s));
  }
}

TEST(AlertEngine, BelowMinimumSampleSizeNeitherFiresNorResolves) {
  AlertEngine engine(test_config());
  feed(engine, Route::pipeline, 9, 9, kT0);  // all failed, but only 9
  EXPECT_TRUE(engine.evaluate(kT0).empty());

  feed(engine, Route::pipeline, 10, 10, kT0 + 1s);
  ASSERT_NE(find(engine.evaluate(kT0 + 1s), kErrorRate, Severity::critical), nullptr);

  // Traffic stops: no traffic is not health. The alert stays firing and is kept alive.
  for (int second = 2; second < 200; ++second) {
    const auto events = engine.evaluate(kT0 + std::chrono::seconds(second));
    for (const auto& event : events)
      EXPECT_EQ(event.status, AlertStatus::firing) << second;
  }
  EXPECT_TRUE(engine.critical_firing_for_pipeline());
  // A few healthy batches are not enough to resolve either.
  feed(engine, Route::pipeline, 5, 0, kT0 + 200s);
  EXPECT_TRUE(engine.evaluate(kT0 + 200s).empty());
  feed(engine, Route::pipeline, 5, 0, kT0 + 201s);
  EXPECT_EQ(find(engine.evaluate(kT0 + 201s), kErrorRate, Severity::critical)->status,
            AlertStatus::resolved);
}

TEST(AlertEngine, RoutesAreJudgedApart) {
  AlertEngine engine(test_config());
  feed(engine, Route::pipeline, 100, 0, kT0);
  feed(engine, Route::legacy, 100, 50, kT0);
  const auto events = engine.evaluate(kT0);
  const AlertEvent* legacy = find(events, kErrorRate, Severity::critical, AlertRoute::legacy);
  ASSERT_NE(legacy, nullptr);
  EXPECT_FALSE(legacy->triggers_rollback());
  EXPECT_EQ(find(events, kErrorRate, Severity::critical), nullptr);
  EXPECT_FALSE(engine.critical_firing_for_pipeline());
  EXPECT_EQ(json::parse(legacy->value)["labels"]["route"], "legacy");
}

TEST(AlertEngine, LatencyPercentiles) {
  AlertEngine engine(test_config());
  feed(engine, Route::pipeline, 100, 0, kT0, 0.9);  // p95 > 600 ms, < 1 s; p99 > 800 ms, < 1.5 s
  auto events = engine.evaluate(kT0);
  EXPECT_NE(find(events, "PatchstreamLatencyP95High", Severity::warning), nullptr);
  EXPECT_EQ(find(events, "PatchstreamLatencyP95High", Severity::critical), nullptr);
  EXPECT_NE(find(events, "PatchstreamLatencyP99High", Severity::warning), nullptr);
  EXPECT_EQ(find(events, "PatchstreamLatencyP99High", Severity::critical), nullptr);

  feed(engine, Route::pipeline, 300, 0, kT0 + 1s, 2.0);
  events = engine.evaluate(kT0 + 1s);
  EXPECT_NE(find(events, "PatchstreamLatencyP95High", Severity::critical), nullptr);
  EXPECT_NE(find(events, "PatchstreamLatencyP99High", Severity::critical), nullptr);
  EXPECT_TRUE(engine.critical_firing_for_pipeline());
}

TEST(AlertEngine, OnlyTheSlowTailFiresP99) {
  AlertEngine engine(test_config());
  feed(engine, Route::pipeline, 980, 0, kT0, 0.001);
  feed(engine, Route::pipeline, 20, 0, kT0, 2.0);  // 2%: p99 is slow, p95 is not
  const auto events = engine.evaluate(kT0);
  EXPECT_EQ(find(events, "PatchstreamLatencyP95High", Severity::warning), nullptr);
  EXPECT_NE(find(events, "PatchstreamLatencyP99High", Severity::critical), nullptr);
}

TEST(AlertEngine, InvariantViolationsInWindow) {
  AlertEngine engine(test_config());
  for (int i = 0; i < 5; ++i)
    engine.observe_violation(kT0);
  EXPECT_TRUE(engine.evaluate(kT0).empty());  // 5 is not above 5
  engine.observe_violation(kT0);
  auto events = engine.evaluate(kT0);
  ASSERT_NE(find(events, "PatchstreamInvariantViolations", Severity::warning), nullptr);
  for (int i = 0; i < 5; ++i)
    engine.observe_violation(kT0 + 1s);
  events = engine.evaluate(kT0 + 1s);
  const AlertEvent* critical = find(events, "PatchstreamInvariantViolations", Severity::critical);
  ASSERT_NE(critical, nullptr);
  EXPECT_TRUE(critical->triggers_rollback());
  // No traffic needed to resolve a count: the window simply empties.
  events = engine.evaluate(kT0 + 12s);
  EXPECT_EQ(events.size(), 2u);
  for (const auto& event : events)
    EXPECT_EQ(event.status, AlertStatus::resolved);
}

TEST(AlertEngine, MemoryOverBaselineHoldsBeforeFiring) {
  AlertConfig config = test_config();
  config.memory_for = 5s;
  AlertEngine engine(config);
  engine.set_resident_memory(160 << 20);
  EXPECT_TRUE(engine.evaluate(kT0).empty());  // pending
  auto events = engine.evaluate(kT0 + 5s);
  const AlertEvent* warning =
      find(events, "PatchstreamMemoryAboveBaseline", Severity::warning, AlertRoute::all);
  ASSERT_NE(warning, nullptr);
  EXPECT_FALSE(warning->triggers_rollback());
  EXPECT_EQ(json::parse(warning->value)["startsAt"], "2025-06-02T09:14:00.000Z");
  engine.set_resident_memory(210 << 20);
  EXPECT_TRUE(engine.evaluate(kT0 + 6s).empty());
  events = engine.evaluate(kT0 + 11s);
  EXPECT_NE(find(events, "PatchstreamMemoryAboveBaseline", Severity::critical, AlertRoute::all),
            nullptr);
  engine.set_resident_memory(100 << 20);
  EXPECT_EQ(engine.evaluate(kT0 + 12s).size(), 2u);
}

TEST(AlertEngine, LearnsTheMemoryBaselineAfterWarmup) {
  AlertConfig config = test_config();
  config.memory_baseline_bytes = 0;
  config.memory_warmup = 30s;
  AlertEngine engine(config);
  engine.set_resident_memory(10 << 20);
  engine.evaluate(kT0);
  EXPECT_EQ(engine.memory_baseline(), 0u);
  engine.set_resident_memory(40 << 20);
  engine.evaluate(kT0 + 30s);
  EXPECT_EQ(engine.memory_baseline(), 40u << 20);
  engine.set_resident_memory(90 << 20);
  EXPECT_NE(find(engine.evaluate(kT0 + 31s), "PatchstreamMemoryAboveBaseline", Severity::critical,
                 AlertRoute::all),
            nullptr);
}

TEST(AlertEngine, ConsumerLagGrowingThenStalled) {
  AlertEngine engine(test_config());
  constexpr std::string_view kLag = "PatchstreamConsumerLagging";
  // Lag grows while records are consumed: warning after a window of growth, never critical.
  for (int second = 0; second <= 10; ++second) {
    engine.set_lag(100 + 10 * static_cast<std::uint64_t>(second), true);
    const auto events = engine.evaluate(kT0 + std::chrono::seconds(second));
    EXPECT_EQ(find(events, kLag, Severity::critical, AlertRoute::all), nullptr);
    if (second < 10) {
      EXPECT_TRUE(events.empty()) << second;
    }
    if (second == 10) {
      EXPECT_NE(find(events, kLag, Severity::warning, AlertRoute::all), nullptr);
    }
  }
  // Nothing consumed any more: critical once stall_after (5 s) passed without progress.
  std::vector<AlertEvent> events;
  for (int second = 11; second <= 16; ++second) {
    engine.set_lag(200, false);
    events = engine.evaluate(kT0 + std::chrono::seconds(second));
    if (second < 15) {
      EXPECT_EQ(find(events, kLag, Severity::critical, AlertRoute::all), nullptr);
    }
    if (second == 15) break;
  }
  EXPECT_NE(find(events, kLag, Severity::critical, AlertRoute::all), nullptr);
  // Caught up: both resolve.
  engine.set_lag(0, true);
  events = engine.evaluate(kT0 + 16s);
  ASSERT_EQ(events.size(), 2u);
  for (const auto& event : events)
    EXPECT_EQ(event.status, AlertStatus::resolved);
}

TEST(AlertEngine, DeadLettersAnyThenSustained) {
  AlertEngine engine(test_config());
  constexpr std::string_view kDead = "PatchstreamDeadLetters";
  engine.observe_dead_letter(kT0);
  auto events = engine.evaluate(kT0);
  ASSERT_NE(find(events, kDead, Severity::warning, AlertRoute::all), nullptr);
  EXPECT_EQ(find(events, kDead, Severity::critical, AlertRoute::all), nullptr);
  // One dead letter every 5 s keeps the window non-empty: sustained for 30 s → critical.
  for (int second = 5; second <= 30; second += 5) {
    engine.observe_dead_letter(kT0 + std::chrono::seconds(second));
    events = engine.evaluate(kT0 + std::chrono::seconds(second));
    EXPECT_EQ(find(events, kDead, Severity::critical, AlertRoute::all) != nullptr, second == 30)
        << second;
  }
  events = engine.evaluate(kT0 + 45s);
  EXPECT_EQ(events.size(), 2u);
}

TEST(AlertEngine, PostableAlertShape) {
  AlertEngine engine(test_config());
  feed(engine, Route::pipeline, 100, 20, kT0 + 250ms);
  const auto events = engine.evaluate(kT0 + 250ms);
  const AlertEvent* critical = find(events, kErrorRate, Severity::critical);
  ASSERT_NE(critical, nullptr);
  const json value = json::parse(critical->value);
  EXPECT_EQ(value["labels"], (json{{"alertname", "PatchstreamErrorRateHigh"},
                                   {"severity", "critical"},
                                   {"service", "patchstream"},
                                   {"route", "pipeline"},
                                   {"instance", "patchstream-test"}}));
  EXPECT_EQ(value["annotations"]["runbook_url"],
            "http://p0:9000/runbooks#patchstreamerrorratehigh");
  EXPECT_EQ(value["annotations"]["summary"],
            "pipeline error rate 20.0% over 10s (critical above 10%)");
  EXPECT_NE(value["annotations"]["description"].get<std::string>().find("auto_rollback"),
            std::string::npos);
  EXPECT_EQ(value["startsAt"], "2025-06-02T09:14:00.250Z");
  EXPECT_EQ(value["endsAt"], "2025-06-02T09:18:00.250Z");
  EXPECT_EQ(value["generatorURL"], "http://localhost:9000/metrics");
  EXPECT_EQ(alert_status_name(critical->status), "firing");
}

TEST(AlertEngine, FingerprintIsStableAndOrderFree) {
  const Labels labels = {{"alertname", "PatchstreamErrorRateHigh"},
                         {"severity", "critical"},
                         {"service", "patchstream"},
                         {"route", "pipeline"},
                         {"instance", "patchstream-0"}};
  Labels reversed(labels.rbegin(), labels.rend());
  EXPECT_EQ(label_fingerprint(labels), label_fingerprint(reversed));
  // Prometheus's model.LabelSet.Fingerprint() of the same set (FNV-1a 64, 0xff separators).
  EXPECT_EQ(label_fingerprint({}), "cbf29ce484222325");
  EXPECT_EQ(label_fingerprint(labels).size(), 16u);

  AlertEngine a(test_config()), b(test_config());
  feed(a, Route::pipeline, 100, 50, kT0);
  feed(b, Route::pipeline, 100, 50, kT0 + 1h);
  const auto from_a = a.evaluate(kT0);
  const auto from_b = b.evaluate(kT0 + 1h);
  ASSERT_EQ(from_a.size(), from_b.size());
  for (std::size_t i = 0; i < from_a.size(); ++i) {
    EXPECT_EQ(from_a[i].key, from_b[i].key);
    const json value = json::parse(from_a[i].value);
    Labels event_labels;
    for (const auto& [name, text] : value["labels"].items())
      event_labels.emplace_back(name, text.get<std::string>());
    EXPECT_EQ(from_a[i].key, label_fingerprint(event_labels));
  }
}

// Issue 13.7: after a percentage change, a critical alert still firing on the samples taken before
// it must not roll back again; only post-change evidence may.
TEST(AlertEngine, RollbackJudgesOnlySamplesAfterTheLatestChange) {
  AlertEngine engine(test_config());
  feed(engine, Route::pipeline, 100, 50, kT0);
  ASSERT_NE(find(engine.evaluate(kT0), kErrorRate, Severity::critical), nullptr);
  auto due = engine.rollback_due();
  ASSERT_TRUE(due.has_value());
  EXPECT_EQ(due->alertname, kErrorRate);
  EXPECT_DOUBLE_EQ(due->value, 0.5);
  EXPECT_DOUBLE_EQ(due->threshold, 0.10);
  EXPECT_EQ(due->samples, 100u);
  EXPECT_FALSE(engine.rollback_due().has_value()) << "one rollback per evidence epoch";

  // Rolled back to 0, then resumed: the old window still holds 50 failures, but they predate the
  // change. Healthy post-change traffic below min_samples: no rollback, the alert stays firing.
  engine.restart_pipeline_evidence(kT0 + 1s);
  feed(engine, Route::pipeline, 5, 0, kT0 + 1500ms);
  (void)engine.evaluate(kT0 + 2s);
  EXPECT_FALSE(engine.rollback_due().has_value());
  EXPECT_TRUE(engine.firing(AlertKind::error_rate, AlertRoute::pipeline, Severity::critical));

  // Enough healthy post-change samples resolve it, inside the old window.
  feed(engine, Route::pipeline, 20, 0, kT0 + 2500ms);
  const auto events = engine.evaluate(kT0 + 3s);
  const AlertEvent* resolved = find(events, kErrorRate, Severity::critical);
  ASSERT_NE(resolved, nullptr);
  EXPECT_EQ(resolved->status, AlertStatus::resolved);
  EXPECT_FALSE(engine.rollback_due().has_value());

  // Failing post-change evidence does roll back, once.
  feed(engine, Route::pipeline, 30, 30, kT0 + 3500ms);
  (void)engine.evaluate(kT0 + 4s);
  due = engine.rollback_due();
  ASSERT_TRUE(due.has_value());
  EXPECT_EQ(due->samples, 55u);
}

TEST(AlertEngine, ChangeWhileFiringNeedsFreshEvidenceToRollBackAgain) {
  AlertEngine engine(test_config());
  feed(engine, Route::pipeline, 100, 50, kT0);
  (void)engine.evaluate(kT0);
  ASSERT_TRUE(engine.rollback_due().has_value());
  engine.restart_pipeline_evidence(kT0 + 1s);
  // No post-change traffic at all: firing is kept alive by resends, never a rollback.
  for (int s = 2; s < 200; s += 10) {
    (void)engine.evaluate(kT0 + std::chrono::seconds(s));
    EXPECT_FALSE(engine.rollback_due().has_value()) << s;
  }
  // Bad post-change evidence while still firing from before: a rollback is due again.
  feed(engine, Route::pipeline, 20, 20, kT0 + 200s);
  (void)engine.evaluate(kT0 + 200s);
  EXPECT_TRUE(engine.rollback_due().has_value());
}

TEST(AlertEngine, RejectsUnusableConfig) {
  AlertConfig config = test_config();
  config.window_slots = 0;
  EXPECT_THROW(AlertEngine{config}, std::invalid_argument);
  config = test_config();
  config.resend_interval = 0s;
  EXPECT_THROW(AlertEngine{config}, std::invalid_argument);
}

}  // namespace
}  // namespace patchstream::alerting
