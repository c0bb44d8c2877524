// Telemetry: everything observability needs from the loop, kept off the routing code.
#include "telemetry.h"

#include <algorithm>

#include "logging/logger.h"
#include "metrics/process_collector.h"
#include "stream/cloud_events.h"

namespace patchstream {
namespace {

std::uint64_t total_lag(std::span<const PartitionLag> lag) {
  std::uint64_t total = 0;
  for (const PartitionLag& p : lag)
    total += p.records;
  return total;
}

}  // namespace

using alerting::BatchStatus;
using alerting::Route;

Telemetry::Telemetry(TelemetrySettings settings, metrics::ProcessorMetrics& metrics,
                     const flags::FlagRegistry& registry, RollbackRequest rollback, Logger& log)
    : settings_(std::move(settings)),
      metrics_(metrics),
      flags_(registry),
      rollback_(std::move(rollback)),
      log_(log),
      engine_(settings_.alerts),
      metric_events_(settings_.instance_id, std::chrono::system_clock::now()),
      last_evaluate_(std::chrono::steady_clock::now()),
      last_metric_event_(last_evaluate_),
      source_("/patchstream/" + settings_.instance_id) {
  evidence_.instance = settings_.instance_id;
  evidence_.flag = settings_.flag;
}

void Telemetry::on_output(const OutputRecord& out) {
  const auto now = std::chrono::system_clock::now();
  ++consumed_;
  if (out.outcome == Outcome::dead_letter) {
    for (int i = 0; i < metrics::kDeadLetterReasonCount; ++i) {
      const auto reason = static_cast<metrics::DeadLetterReason>(i);
      if (metrics::reason_name(reason) == out.dead_letter_reason)
        metrics_.record_dead_letter(reason);
    }
    engine_.observe_dead_letter(now);
    metric_events_.record_dead_letter();
    ++evidence_.evidence.dead_letters;
    return;
  }
  if (out.outcome == Outcome::legacy) {
    // Forwarded untouched: counted with the time it took to decide.
    const Timings none{};
    metrics_.record_result(Route::legacy, BatchStatus::forwarded, none, {});
    engine_.observe(Route::legacy, BatchStatus::forwarded, 0.0, now);
    metric_events_.record(Route::legacy, BatchStatus::forwarded, 0, 0.0);
    return;
  }
  // The decision's percentage is the one this event was routed by: a change is seen at the first
  // event after it, not up to a tick later.
  if (out.decision != nullptr && out.decision->percentage != evidence_percentage_ &&
      out.decision->pipeline) {
    percentage_changed(out.decision->percentage);
  }
  const Result& r = *out.result;
  const BatchStatus status = r.internal_guard_failed ? BatchStatus::failed
                             : r.applied             ? BatchStatus::applied
                                                     : BatchStatus::rejected;
  const double latency = static_cast<double>(r.timings.total_us) * 1e-6;
  metrics_.record_result(Route::pipeline, status, r.timings, metrics::count_patches(*r.batch));
  metrics_.record_violations(r.violations);
  engine_.observe(Route::pipeline, status, latency, now);
  if (r.internal_guard_failed) engine_.observe_violation(now);
  rollout::Evidence& e = evidence_.evidence;
  ++e.batches;
  ++(status == BatchStatus::applied  ? e.applied
     : status == BatchStatus::failed ? e.failed
                                     : e.rejected);
  if (r.internal_guard_failed) ++e.guard_failures;
  e.latency.record(latency);
  metric_events_.record(Route::pipeline, status, static_cast<std::uint32_t>(out.patches), latency);
}

void Telemetry::emit_event(const Emit& emit, std::string_view topic, std::string_view type,
                           std::string_view key, std::string_view value,
                           std::string_view alert_status) {
  const std::string id = settings_.instance_id + "/" + std::to_string(++sequence_);
  const std::string time = utc_now_rfc3339();
  std::vector<kafka::HeaderView> headers;
  append_cloud_event_headers(headers, type, id, source_, time);
  if (!alert_status.empty()) headers.push_back({alerting::kAlertStatusHeader, alert_status});
  emit(topic, key, value, headers);
}

void Telemetry::percentage_changed(int percentage) {
  if (evidence_percentage_ >= 0)
    engine_.restart_pipeline_evidence(std::chrono::system_clock::now());
  evidence_percentage_ = percentage;
  // The rollout's evidence starts again too, counted from the revision this instance routes by.
  const auto* flag = flags_.current().find(settings_.flag);
  evidence_.percentage = percentage;
  evidence_.since_revision = flag ? flag->revision : 0;
  evidence_.evidence = {};
}

void Telemetry::publish_evidence(const Emit& emit) {
  if (settings_.evidence_topic.empty() || evidence_percentage_ < 0) return;
  evidence_.at_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
  const std::string key = rollout::evidence_key(evidence_.flag, evidence_.instance);
  emit_event(emit, settings_.evidence_topic, "patchstream.rollout-evidence.v1", key,
             rollout::evidence_json(evidence_), {});
}

void Telemetry::publish_lag(std::span<const PartitionLag> lag) {
  for (const std::int32_t partition : lag_partitions_) {
    const bool still_assigned = std::any_of(
        lag.begin(), lag.end(), [&](const PartitionLag& p) { return p.partition == partition; });
    if (!still_assigned) metrics_.clear_lag(partition);
  }
  lag_partitions_.clear();
  for (const PartitionLag& p : lag) {
    metrics_.set_lag(p.partition, static_cast<std::int64_t>(p.records));
    lag_partitions_.push_back(p.partition);
  }
  engine_.set_lag(total_lag(lag), consumed_ != consumed_at_last_tick_);
  consumed_at_last_tick_ = consumed_;
}

void Telemetry::auto_rollback(const alerting::RollbackEvidence& evidence) {
  const auto* flag = flags_.current().find(settings_.flag);
  if (flag == nullptr || !flag->auto_rollback || flag->percentage == 0) return;
  std::string reason = "auto-rollback: " + std::string(evidence.alertname) + ": " +
                       evidence.summary + " on " + std::to_string(evidence.samples) +
                       " pipeline samples since the last percentage change (instance " +
                       settings_.instance_id + ")";
  log_.warn("auto-rollback requested", {{"flag", settings_.flag},
                                        {"previous_percentage", static_cast<int>(flag->percentage)},
                                        {"reason", reason}});
  rollback_(settings_.flag, std::move(reason));
}

void Telemetry::on_tick(const Emit& emit, std::span<const PartitionLag> lag, std::size_t in_flight,
                        double txn_age_seconds) {
  metrics_.set_in_flight(static_cast<std::int64_t>(in_flight));
  metrics_.set_transaction_age(txn_age_seconds);
  const auto& snapshot = flags_.current();
  if (const auto* flag = snapshot.find(settings_.flag)) {
    const int pct = flag->enabled ? flag->percentage : 0;
    if (pct != last_percentage_) {
      if (last_percentage_ >= 0) metrics_.flag_changed();
      metrics_.set_flag_percentage(settings_.flag, pct);
      last_percentage_ = pct;
    }
    // Changes between two ticks are seen as a revision that moved by more than one: 50 → 0 → 50
    // unseen still starts the evidence again.
    const bool missed_changes = evidence_revision_ != 0 && flag->revision > evidence_revision_ + 1;
    if (pct != evidence_percentage_ || missed_changes) percentage_changed(pct);
    evidence_revision_ = flag->revision;
  }

  const auto steady = std::chrono::steady_clock::now();
  if (steady - last_evaluate_ >= settings_.evaluate_every) {
    last_evaluate_ = steady;
    const auto now = std::chrono::system_clock::now();
    const auto stats = metrics::read_process_stats();
    engine_.set_resident_memory(stats.resident_memory_bytes);
    publish_lag(lag);
    for (const alerting::AlertEvent& event : engine_.evaluate(now)) {
      emit_event(emit, settings_.alerts_topic, "patchstream.alert.v1", event.key, event.value,
                 alerting::alert_status_name(event.status));
      log_.warn("alert", {{"alertname", event.alertname},
                          {"status", alerting::alert_status_name(event.status)}});
    }
    if (const auto due = engine_.rollback_due()) auto_rollback(*due);
    publish_evidence(emit);
  }
  if (steady - last_metric_event_ >= settings_.metrics_interval) {
    last_metric_event_ = steady;
    const auto stats = metrics::read_process_stats();
    const std::string event = metric_events_.build(std::chrono::system_clock::now(), total_lag(lag),
                                                   stats.resident_memory_bytes);
    emit_event(emit, settings_.metrics_topic, "patchstream.metric.v1", settings_.instance_id, event,
               {});
  }
}

}  // namespace patchstream
