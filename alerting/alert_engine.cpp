// Alert evaluation over time-slotted sliding windows, with Prometheus's pending/firing/resolved
// life cycle and resend behaviour.
#include "alerting/alert_engine.h"

#include <cstdarg>
#include <cstdio>
#include <stdexcept>

namespace patchstream::alerting {

namespace {

// snprintf into a std::string: annotations are built once per evaluation, never per event.
[[gnu::format(printf, 1, 2)]] std::string format(const char* pattern, ...) {
  char text[512];
  va_list args;
  va_start(args, pattern);
  std::vsnprintf(text, sizeof text, pattern, args);
  va_end(args);
  return text;
}

std::string format_duration(Duration duration) {
  const auto ms = duration.count();
  if (ms % 3'600'000 == 0 && ms > 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms % 60'000 == 0 && ms > 0) return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

using ull = unsigned long long;

}  // namespace

std::string_view alert_name(AlertKind kind) noexcept {
  switch (kind) {
    case AlertKind::error_rate:
      return "PatchstreamErrorRateHigh";
    case AlertKind::success_rate:
      return "PatchstreamSuccessRateLow";
    case AlertKind::latency_p95:
      return "PatchstreamLatencyP95High";
    case AlertKind::latency_p99:
      return "PatchstreamLatencyP99High";
    case AlertKind::invariant_violations:
      return "PatchstreamInvariantViolations";
    case AlertKind::memory:
      return "PatchstreamMemoryAboveBaseline";
    case AlertKind::consumer_lag:
      return "PatchstreamConsumerLagging";
    case AlertKind::dead_letters:
      return "PatchstreamDeadLetters";
  }
  return "PatchstreamUnknown";
}

AlertEngine::AlertEngine(AlertConfig config) : config_(std::move(config)) {
  if (config_.window.count() <= 0 || config_.window_slots <= 0 ||
      config_.resend_interval.count() <= 0 || config_.lag_window.count() <= 0) {
    throw std::invalid_argument("alert config: window, slots, lag window and resend interval > 0");
  }
  slot_length_ = config_.window / config_.window_slots;
  if (slot_length_.count() <= 0) throw std::invalid_argument("alert config: window too short");
  slots_.resize(static_cast<std::size_t>(config_.window_slots));

  const auto add_rule = [this](AlertKind kind, AlertRoute route, Severity severity, Duration hold) {
    Rule rule;
    rule.kind = kind;
    rule.route = route;
    rule.severity = severity;
    rule.hold = hold;
    rule.labels = {{"alertname", std::string(alert_name(kind))},
                   {"severity", std::string(severity_name(severity))},
                   {"service", config_.service},
                   {"route", std::string(alert_route_name(route))},
                   {"instance", config_.instance}};
    rule.fingerprint = label_fingerprint(rule.labels);
    rules_.push_back(std::move(rule));
  };
  for (const AlertRoute route : {AlertRoute::pipeline, AlertRoute::legacy}) {
    for (const AlertKind kind : {AlertKind::error_rate, AlertKind::success_rate,
                                 AlertKind::latency_p95, AlertKind::latency_p99}) {
      add_rule(kind, route, Severity::warning, Duration::zero());
      add_rule(kind, route, Severity::critical, Duration::zero());
    }
  }
  // Internal guards exist only in the pipeline, so their alert is the pipeline's (and rolls back).
  add_rule(AlertKind::invariant_violations, AlertRoute::pipeline, Severity::warning,
           Duration::zero());
  add_rule(AlertKind::invariant_violations, AlertRoute::pipeline, Severity::critical,
           Duration::zero());
  add_rule(AlertKind::memory, AlertRoute::all, Severity::warning, config_.memory_for);
  add_rule(AlertKind::memory, AlertRoute::all, Severity::critical, config_.memory_for);
  add_rule(AlertKind::consumer_lag, AlertRoute::all, Severity::warning, Duration::zero());
  add_rule(AlertKind::consumer_lag, AlertRoute::all, Severity::critical, Duration::zero());
  add_rule(AlertKind::dead_letters, AlertRoute::all, Severity::warning, Duration::zero());
  add_rule(AlertKind::dead_letters, AlertRoute::all, Severity::critical,
           config_.dead_letter_sustained_for);
}

AlertEngine::Slot& AlertEngine::slot_at(WallTime now) noexcept {
  const std::int64_t epoch = now.time_since_epoch() / slot_length_;
  const auto count = static_cast<std::int64_t>(slots_.size());
  Slot& slot = slots_[static_cast<std::size_t>(((epoch % count) + count) % count)];
  // An older time than the slot holds (a clock step back) counts in the newer slot rather than
  // wiping it.
  if (slot.epoch < epoch) {
    slot.epoch = epoch;
    for (auto& route : slot.routes) {
      route.statuses.fill(0);
      route.latency.clear();
    }
    slot.violations = slot.dead_letters = 0;
  }
  return slot;
}

void AlertEngine::observe(Route route, BatchStatus status, double latency_seconds,
                          WallTime now) noexcept {
  RouteSlot& slot = slot_at(now).routes[static_cast<std::size_t>(route)];
  ++slot.statuses[static_cast<std::size_t>(status)];
  slot.latency.record(latency_seconds);
}

void AlertEngine::observe_violation(WallTime now) noexcept {
  ++slot_at(now).violations;
}

void AlertEngine::observe_dead_letter(WallTime now) noexcept {
  ++slot_at(now).dead_letters;
}

void AlertEngine::set_resident_memory(std::uint64_t bytes) noexcept {
  resident_ = bytes;
}

void AlertEngine::set_lag(std::uint64_t total_lag, bool progressed) noexcept {
  lag_known_ = true;
  lag_ = total_lag;
  progressed_ = progressed_ || progressed;
}

void AlertEngine::sum_window(WallTime now) {
  const std::int64_t current = now.time_since_epoch() / slot_length_;
  const auto oldest = current - static_cast<std::int64_t>(slots_.size());
  for (auto& route : window_) {
    route.batches = route.errors = route.successes = 0;
    route.latency.clear();
  }
  window_violations_ = window_dead_letters_ = 0;
  for (const Slot& slot : slots_) {
    if (slot.epoch <= oldest || slot.epoch > current) continue;
    for (int r = 0; r < kRouteCount; ++r) {
      const RouteSlot& from = slot.routes[static_cast<std::size_t>(r)];
      RouteWindow& to = window_[static_cast<std::size_t>(r)];
      for (int s = 0; s < kBatchStatusCount; ++s) {
        const auto n = from.statuses[static_cast<std::size_t>(s)];
        const auto status = static_cast<BatchStatus>(s);
        to.batches += n;
        if (is_error(status)) to.errors += n;
        if (status == BatchStatus::applied || status == BatchStatus::forwarded) to.successes += n;
      }
      to.latency.add(from.latency);
    }
    window_violations_ += slot.violations;
    window_dead_letters_ += slot.dead_letters;
  }
}

void AlertEngine::sample_lag(WallTime now) {
  if (!lag_known_) return;
  if (lag_sample_count_ == 0 || progressed_ || lag_ == 0) last_progress_ = now;
  progressed_ = false;
  const std::size_t capacity = lag_samples_.size();
  if (lag_sample_count_ > 0) {
    const auto& latest = lag_samples_[(lag_sample_next_ + capacity - 1) % capacity];
    // Samples every lag_window/32 keep two windows of history in the 64 entries.
    if (now - latest.time < config_.lag_window / 32) return;
  }
  lag_samples_[lag_sample_next_] = {now, lag_};
  lag_sample_next_ = (lag_sample_next_ + 1) % capacity;
  if (lag_sample_count_ < capacity) ++lag_sample_count_;
}

std::vector<AlertEvent> AlertEngine::evaluate(WallTime now) {
  if (!started_) {
    started_ = true;
    started_at_ = now;
  }
  sum_window(now);
  sample_lag(now);
  if (memory_baseline_ == 0) {
    if (config_.memory_baseline_bytes > 0) {
      memory_baseline_ = config_.memory_baseline_bytes;
    } else if (resident_ > 0 && now - started_at_ >= config_.memory_warmup) {
      memory_baseline_ = resident_;
    }
  }

  std::vector<AlertEvent> events;
  for (Rule& rule : rules_) {
    const bool was_firing = rule.firing;
    const WallTime last_sent = rule.last_sent;
    judge(rule, now);
    if (rule.firing && (!was_firing || rule.last_sent != last_sent)) {
      events.push_back(make_event(rule, AlertStatus::firing, now));
    } else if (was_firing && !rule.firing) {
      events.push_back(make_event(rule, AlertStatus::resolved, now));
    }
  }
  return events;
}

void AlertEngine::judge(Rule& rule, WallTime now) {
  const bool critical = rule.severity == Severity::critical;
  const char* severity = critical ? "critical" : "warning";
  const std::string window = format_duration(config_.window);
  const char* instance = config_.instance.c_str();
  Condition condition = Condition::unknown;
  std::string summary, description;

  const auto route_index = static_cast<std::size_t>(rule.route);
  const RouteWindow* route = rule.route == AlertRoute::all ? nullptr : &window_[route_index];
  const char* route_text = alert_route_name(rule.route).data();

  switch (rule.kind) {
    case AlertKind::error_rate:
    case AlertKind::success_rate: {
      if (route->batches < config_.min_samples) break;
      const double batches = static_cast<double>(route->batches);
      if (rule.kind == AlertKind::error_rate) {
        const double rate = static_cast<double>(route->errors) / batches;
        const double limit = critical ? config_.error_rate.critical : config_.error_rate.warning;
        condition = rate > limit ? Condition::yes : Condition::no;
        rule.value = rate;
        rule.threshold = limit;
        rule.samples = route->batches;
        summary = format("%s error rate %.1f%% over %s (%s above %g%%)", route_text, rate * 100,
                         window.c_str(), severity, limit * 100);
        description =
            format("%llu of %llu %s batches in the last %s were rejected or failed on %s.",
                   static_cast<ull>(route->errors), static_cast<ull>(route->batches), route_text,
                   window.c_str(), instance);
      } else {
        const double rate = static_cast<double>(route->successes) / batches;
        const double limit =
            critical ? config_.success_rate.critical : config_.success_rate.warning;
        condition = rate < limit ? Condition::yes : Condition::no;
        rule.value = rate;
        rule.threshold = limit;
        rule.samples = route->batches;
        summary = format("%s success rate %.1f%% over %s (%s below %g%%)", route_text, rate * 100,
                         window.c_str(), severity, limit * 100);
        description =
            format("%llu of %llu %s batches in the last %s were applied or forwarded on %s.",
                   static_cast<ull>(route->successes), static_cast<ull>(route->batches), route_text,
                   window.c_str(), instance);
      }
      break;
    }
    case AlertKind::latency_p95:
    case AlertKind::latency_p99: {
      if (route->latency.count() < config_.min_samples) break;
      const bool p95 = rule.kind == AlertKind::latency_p95;
      const auto& levels = p95 ? config_.latency_p95 : config_.latency_p99;
      const double limit = critical ? levels.critical : levels.warning;
      const double value = route->latency.quantile(p95 ? 0.95 : 0.99);
      condition = value > limit ? Condition::yes : Condition::no;
      rule.value = value;
      rule.threshold = limit;
      rule.samples = route->latency.count();
      summary = format("%s p%d batch latency %.0f ms over %s (%s above %g ms)", route_text,
                       p95 ? 95 : 99, value * 1000, window.c_str(), severity, limit * 1000);
      description =
          format("%llu %s batches in the last %s on %s; p50 %.1f ms, p%d %.1f ms.",
                 static_cast<ull>(route->latency.count()), route_text, window.c_str(), instance,
                 route->latency.quantile(0.5) * 1000, p95 ? 95 : 99, value * 1000);
      break;
    }
    case AlertKind::invariant_violations: {
      const auto limit =
          critical ? config_.invariant_violations.critical : config_.invariant_violations.warning;
      condition = window_violations_ > limit ? Condition::yes : Condition::no;
      rule.value = static_cast<double>(window_violations_);
      rule.threshold = static_cast<double>(limit);
      rule.samples = window_[static_cast<std::size_t>(Route::pipeline)].batches;
      summary = format("%llu internal invariant violations in %s (%s above %llu)",
                       static_cast<ull>(window_violations_), window.c_str(), severity,
                       static_cast<ull>(limit));
      description = format(
          "Internal guards (desc_order, immutable_snapshot, snapshot_size_changed) failed %llu "
          "times in the last %s on %s: a pipeline bug. The batches were rejected, not applied.",
          static_cast<ull>(window_violations_), window.c_str(), instance);
      break;
    }
    case AlertKind::memory: {
      if (memory_baseline_ == 0 || resident_ == 0) break;
      const double ratio = static_cast<double>(resident_) / static_cast<double>(memory_baseline_);
      const double limit = critical ? config_.memory_ratio.critical : config_.memory_ratio.warning;
      condition = ratio > limit ? Condition::yes : Condition::no;
      summary = format("resident memory %.0f MiB, %+.0f%% over baseline (%s above %+.0f%%)",
                       static_cast<double>(resident_) / (1 << 20), (ratio - 1) * 100, severity,
                       (limit - 1) * 100);
      description =
          format("Resident memory %llu bytes against a baseline of %llu bytes on %s.",
                 static_cast<ull>(resident_), static_cast<ull>(memory_baseline_), instance);
      break;
    }
    case AlertKind::consumer_lag: {
      if (!lag_known_ || lag_sample_count_ == 0) break;
      if (critical) {
        const auto since = now - last_progress_;
        condition = lag_ > 0 && since >= config_.stall_after ? Condition::yes : Condition::no;
        summary = format("consumer stalled: %llu records behind, no progress for %s",
                         static_cast<ull>(lag_),
                         format_duration(std::chrono::duration_cast<Duration>(since)).c_str());
        description =
            format("%s has consumed nothing for %s while %llu input records wait.", instance,
                   format_duration(std::chrono::duration_cast<Duration>(since)).c_str(),
                   static_cast<ull>(lag_));
        break;
      }
      // Growth: the window is covered by samples, lag stayed above 0 throughout and rose.
      const std::size_t capacity = lag_samples_.size();
      const LagSample* start = nullptr;
      bool always_behind = lag_ > 0;
      for (std::size_t i = 0; i < lag_sample_count_; ++i) {
        const LagSample& sample =
            lag_samples_[(lag_sample_next_ + capacity - lag_sample_count_ + i) % capacity];
        if (sample.time <= now - config_.lag_window) {
          start = &sample;
        } else if (start != nullptr && sample.lag == 0) {
          always_behind = false;
        }
      }
      if (start == nullptr) break;  // not enough history yet
      always_behind = always_behind && start->lag > 0;
      condition = always_behind && lag_ > start->lag ? Condition::yes : Condition::no;
      summary = format("consumer lag growing: %llu records behind", static_cast<ull>(lag_));
      description = format(
          "Lag grew from %llu to %llu records over %s without catching up on %s: input arrives "
          "faster than it is processed.",
          static_cast<ull>(start->lag), static_cast<ull>(lag_),
          format_duration(config_.lag_window).c_str(), instance);
      break;
    }
    case AlertKind::dead_letters: {
      condition = window_dead_letters_ > 0 ? Condition::yes : Condition::no;
      summary = critical ? format("input dead-lettered for over %s",
                                  format_duration(config_.dead_letter_sustained_for).c_str())
                         : format("%llu input records dead-lettered in %s",
                                  static_cast<ull>(window_dead_letters_), window.c_str());
      description = format(
          "%llu input records in the last %s could not be read as patch-batches on %s and went "
          "to the dead-letter topic.",
          static_cast<ull>(window_dead_letters_), window.c_str(), instance);
      break;
    }
  }

  rule.condition = condition;
  if (condition != Condition::unknown) {
    rule.summary = std::move(summary);
    rule.description = std::move(description);
  }
  switch (condition) {
    case Condition::yes:
      if (!rule.pending && !rule.firing) {
        rule.pending = true;
        rule.active_since = now;
      }
      if (!rule.firing && now - rule.active_since >= rule.hold) {
        rule.firing = true;
        rule.last_sent = now;
      } else if (rule.firing && now - rule.last_sent >= config_.resend_interval) {
        rule.last_sent = now;
      }
      break;
    case Condition::no:
      rule.pending = false;
      rule.firing = false;
      break;
    case Condition::unknown:
      // No traffic is neither health nor failure: keep the state, keep a firing alert alive.
      if (rule.firing && now - rule.last_sent >= config_.resend_interval) rule.last_sent = now;
      break;
  }
}

AlertEvent AlertEngine::make_event(const Rule& rule, AlertStatus status, WallTime now) const {
  PostableAlert alert;
  alert.labels = rule.labels;
  std::string summary = rule.summary, description = rule.description;
  if (rule.kind != AlertKind::memory && rule.kind != AlertKind::consumer_lag &&
      rule.kind != AlertKind::dead_letters && rule.route == AlertRoute::pipeline &&
      rule.severity == Severity::critical) {
    description += " Flags with auto_rollback are set to 0%.";
  }
  alert.annotations = {
      {"summary", std::move(summary)},
      {"description", std::move(description)},
      {"runbook_url", config_.runbook_base_url + "#" + lower(alert_name(rule.kind))}};
  alert.starts_at = rule.active_since;
  alert.ends_at = status == AlertStatus::firing ? now + 4 * config_.resend_interval : now;
  alert.generator_url = config_.generator_url;
  return AlertEvent{.key = rule.fingerprint,
                    .status = status,
                    .value = to_json(alert),
                    .alertname = alert_name(rule.kind),
                    .severity = rule.severity,
                    .route = rule.route};
}

bool AlertEngine::firing(AlertKind kind, AlertRoute route, Severity severity) const noexcept {
  for (const Rule& rule : rules_) {
    if (rule.kind == kind && rule.route == route && rule.severity == severity) return rule.firing;
  }
  return false;
}

void AlertEngine::restart_pipeline_evidence(WallTime now) noexcept {
  (void)now;  // every slot is cleared, the current one included: later samples land in it anew
  for (Slot& slot : slots_) {
    RouteSlot& pipeline = slot.routes[static_cast<std::size_t>(Route::pipeline)];
    pipeline.statuses.fill(0);
    pipeline.latency.clear();
    slot.violations = 0;
  }
  window_[static_cast<std::size_t>(Route::pipeline)] = {};
  window_violations_ = 0;
  for (Rule& rule : rules_) {
    if (rule.route == AlertRoute::pipeline) rule.condition = Condition::unknown;
  }
  ++evidence_epoch_;
}

std::optional<RollbackEvidence> AlertEngine::rollback_due() {
  if (rolled_back_epoch_ == evidence_epoch_) return std::nullopt;
  for (const Rule& rule : rules_) {
    // condition == yes was judged on this epoch's samples only (restart resets it to unknown).
    if (rule.firing && rule.condition == Condition::yes && rule.severity == Severity::critical &&
        rule.route == AlertRoute::pipeline) {
      rolled_back_epoch_ = evidence_epoch_;
      return RollbackEvidence{alert_name(rule.kind), rule.value, rule.threshold, rule.samples,
                              rule.summary};
    }
  }
  return std::nullopt;
}

bool AlertEngine::critical_firing_for_pipeline() const noexcept {
  for (const Rule& rule : rules_) {
    if (rule.firing && rule.severity == Severity::critical && rule.route == AlertRoute::pipeline) {
      return true;
    }
  }
  return false;
}

}  // namespace patchstream::alerting
