// In-process alert evaluation (SPEC §4): sliding windows per route, warning and critical as
// separate alerts, emitted as Alertmanager postable alerts the way Prometheus sends them.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "alerting/alert_event.h"
#include "alerting/latency_histogram.h"
#include "alerting/outcome.h"
#include "alerting/timestamp.h"

namespace patchstream::alerting {

using Duration = std::chrono::milliseconds;

template <typename T>
struct Levels {
  T warning;
  T critical;

  bool operator==(const Levels&) const = default;
};

// Defaults are SPEC §4's thresholds; windows and hold times are this project's choice
// (docs/OBSERVABILITY.md), the same as alerting/rules/patchstream.rules.yml.
struct AlertConfig {
  std::string service = "patchstream";
  // `patchstream run` sets these from instance_id and its admin server's address.
  std::string instance = "patchstream-0";
  std::string generator_url = "http://localhost:9000/metrics";
  // runbook_url = this + "#" + lower-case alertname. Empty in the configuration: `patchstream run`
  // uses its own admin server's /runbooks page (alerts.runbook_base_url overrides it).
  std::string runbook_base_url;

  Duration window{std::chrono::minutes(5)};  // rates, latency, violations, dead letters
  int window_slots = 60;                     // the window slides by window / window_slots
  std::uint64_t min_samples = 20;  // fewer batches of a route in the window: rate alerts hold
  Duration resend_interval{std::chrono::minutes(1)};

  Levels<double> error_rate{0.05, 0.10};              // above
  Levels<double> success_rate{0.95, 0.90};            // below
  Levels<double> latency_p95{0.600, 1.000};           // seconds, above
  Levels<double> latency_p99{0.800, 1.500};           // seconds, above
  Levels<std::uint64_t> invariant_violations{5, 10};  // in the window, above

  Levels<double> memory_ratio{1.5, 2.0};    // resident / baseline, above
  std::uint64_t memory_baseline_bytes = 0;  // 0: learn it once, memory_warmup after the start
  Duration memory_warmup{std::chrono::minutes(5)};
  Duration memory_for{std::chrono::minutes(5)};

  Duration lag_window{std::chrono::minutes(5)};   // warning: lag > 0 throughout and grew
  Duration stall_after{std::chrono::minutes(2)};  // critical: lag > 0 and no progress this long

  Duration dead_letter_sustained_for{std::chrono::minutes(10)};  // critical: any, this long

  bool operator==(const AlertConfig&) const = default;
};

enum class AlertKind : std::uint8_t {
  error_rate,
  success_rate,
  latency_p95,
  latency_p99,
  invariant_violations,
  memory,
  consumer_lag,
  dead_letters,
};

// The alertname of a kind, CamelCase as in the Prometheus rules, e.g. "PatchstreamErrorRateHigh".
std::string_view alert_name(AlertKind kind) noexcept;

// The evidence behind a rollback: which alert crossed which threshold on how many samples.
struct RollbackEvidence {
  std::string_view alertname;
  double value = 0;      // the alert's measure: a rate, seconds, or a count
  double threshold = 0;  // the critical level it crossed
  std::uint64_t samples = 0;
  std::string summary;
};

// Not thread-safe: feed and evaluate it from one thread (the processing loop). The observe_*
// calls are per event: they neither allocate nor lock. Times are wall-clock and passed in, so
// tests drive the clock.
class AlertEngine {
 public:
  // Throws std::invalid_argument on a config that cannot work (zero window, slots, interval).
  explicit AlertEngine(AlertConfig config);

  void observe(Route route, BatchStatus status, double latency_seconds, WallTime now) noexcept;
  void observe(Route route, bool error, double latency_seconds, WallTime now) noexcept {
    const auto ok = route == Route::pipeline ? BatchStatus::applied : BatchStatus::forwarded;
    observe(route, error ? BatchStatus::failed : ok, latency_seconds, now);
  }
  // An internal invariant guard failed (a bug; SPEC §1 invariants 2, 3, 7).
  void observe_violation(WallTime now) noexcept;
  void observe_dead_letter(WallTime now) noexcept;
  void set_resident_memory(std::uint64_t bytes) noexcept;
  // Records behind the end of the input summed over assigned partitions; `progressed`: records
  // were consumed since the previous call.
  void set_lag(std::uint64_t total_lag, bool progressed) noexcept;

  // Call periodically (e.g. every second): the events to publish now, in a stable order.
  std::vector<AlertEvent> evaluate(WallTime now);

  // The pipeline's samples start again at `now` (the rollout percentage changed): earlier pipeline
  // samples and guard failures leave every window. An alert already firing stays firing until
  // post-change evidence resolves it, and cannot roll back on what came before.
  void restart_pipeline_evidence(WallTime now) noexcept;
  // A critical pipeline alert whose condition holds on post-change evidence, once per evidence
  // epoch (after restart_pipeline_evidence, the next such alert is due again). Call after evaluate.
  std::optional<RollbackEvidence> rollback_due();

  bool critical_firing_for_pipeline() const noexcept;
  bool firing(AlertKind kind, AlertRoute route, Severity severity) const noexcept;
  // The baseline the memory alert compares with; 0 until known.
  std::uint64_t memory_baseline() const noexcept { return memory_baseline_; }
  const AlertConfig& config() const noexcept { return config_; }

 private:
  struct RouteSlot {
    std::array<std::uint32_t, kBatchStatusCount> statuses{};
    LatencyHistogram latency;
  };
  struct Slot {
    std::int64_t epoch = -1;
    std::array<RouteSlot, kRouteCount> routes;
    std::uint32_t violations = 0;
    std::uint32_t dead_letters = 0;
  };
  struct RouteWindow {
    std::uint64_t batches = 0, errors = 0, successes = 0;
    LatencyHistogram latency;
  };
  struct LagSample {
    WallTime time;
    std::uint64_t lag;
  };
  enum class Condition : std::uint8_t { no, yes, unknown };
  struct Rule {
    AlertKind kind = AlertKind::error_rate;
    AlertRoute route = AlertRoute::all;
    Severity severity = Severity::warning;
    Duration hold{};  // Prometheus `for`
    Labels labels;
    std::string fingerprint;
    bool pending = false, firing = false;
    WallTime active_since{}, last_sent{};
    Condition condition = Condition::unknown;
    std::string summary, description;
    double value = 0, threshold = 0;  // of the latest judgement with data
    std::uint64_t samples = 0;
  };

  Slot& slot_at(WallTime now) noexcept;
  void sum_window(WallTime now);
  void sample_lag(WallTime now);
  void judge(Rule& rule, WallTime now);
  AlertEvent make_event(const Rule& rule, AlertStatus status, WallTime now) const;

  AlertConfig config_;
  Duration slot_length_;
  std::vector<Slot> slots_;
  std::vector<Rule> rules_;

  // Window sums, refreshed by evaluate().
  std::array<RouteWindow, kRouteCount> window_;
  std::uint64_t window_violations_ = 0, window_dead_letters_ = 0;

  std::uint64_t evidence_epoch_ = 0, rolled_back_epoch_ = ~std::uint64_t{0};

  bool started_ = false;
  WallTime started_at_{};
  std::uint64_t resident_ = 0, memory_baseline_ = 0;

  bool lag_known_ = false, progressed_ = false;
  std::uint64_t lag_ = 0;
  WallTime last_progress_{};
  std::array<LagSample, 64> lag_samples_{};
  std::size_t lag_sample_count_ = 0, lag_sample_next_ = 0;
};

}  // namespace patchstream::alerting
