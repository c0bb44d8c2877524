// Telemetry: everything observability needs from the loop, kept off the routing code.
#include "telemetry.h"

#include "logging/logger.h"
#include "metrics/process_collector.h"
#include "stream/cloud_events.h"

namespace patchstream {

using alerting::BatchStatus;
using alerting::Route;

Telemetry::Telemetry(TelemetrySettings settings, metrics::ProcessorMetrics& metrics,
                     flags::FlagCatalog& catalog, const flags::FlagRegistry& registry, Logger& log)
    : settings_(std::move(settings)),
      metrics_(metrics),
      catalog_(catalog),
      flags_(registry),
      log_(log),
      engine_(settings_.alerts),
      metric_events_(settings_.instance_id, std::chrono::system_clock::now()),
      last_evaluate_(std::chrono::steady_clock::now()),
      last_metric_event_(last_evaluate_),
      source_("/patchstream/" + settings_.instance_id) {}

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
  const Result& r = *out.result;
  const BatchStatus status = r.internal_guard_failed ? BatchStatus::failed
                             : r.applied             ? BatchStatus::applied
                                                     : BatchStatus::rejected;
  const double latency = static_cast<double>(r.timings.total_us) * 1e-6;
  metrics_.record_result(Route::pipeline, status, r.timings, metrics::count_patches(*r.batch));
  metrics_.record_violations(r.violations);
  engine_.observe(Route::pipeline, status, latency, now);
  if (r.internal_guard_failed) engine_.observe_violation(now);
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

void Telemetry::auto_rollback(std::string_view alertname) {
  const auto flag = catalog_.get(settings_.flag);
  if (!flag || !flag->auto_rollback || flag->percentage == 0) return;
  const std::string reason = "auto-rollback: " + std::string(alertname) +
                             " critical on the pipeline route (instance " + settings_.instance_id +
                             ")";
  const auto outcome = catalog_.rollback(settings_.flag, reason, "auto-rollback");
  log_.warn("auto-rollback: flag set to 0%",
            {{"flag", settings_.flag},
             {"alert", alertname},
             {"previous_percentage", static_cast<int>(flag->percentage)}});
  (void)outcome;
}

void Telemetry::on_tick(const Emit& emit, std::uint64_t lag, std::size_t in_flight,
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
  }

  const auto steady = std::chrono::steady_clock::now();
  if (steady - last_evaluate_ >= std::chrono::seconds(1)) {
    last_evaluate_ = steady;
    const auto now = std::chrono::system_clock::now();
    const auto stats = metrics::read_process_stats();
    engine_.set_resident_memory(stats.resident_memory_bytes);
    engine_.set_lag(lag, consumed_ != consumed_at_last_tick_);
    consumed_at_last_tick_ = consumed_;
    for (const alerting::AlertEvent& event : engine_.evaluate(now)) {
      emit_event(emit, settings_.alerts_topic, "patchstream.alert.v1", event.key, event.value,
                 alerting::alert_status_name(event.status));
      log_.warn("alert", {{"alertname", event.alertname},
                          {"status", alerting::alert_status_name(event.status)}});
      if (event.triggers_rollback()) auto_rollback(event.alertname);
    }
  }
  if (steady - last_metric_event_ >= settings_.metrics_interval) {
    last_metric_event_ = steady;
    const auto stats = metrics::read_process_stats();
    const std::string event =
        metric_events_.build(std::chrono::system_clock::now(), lag, stats.resident_memory_bytes);
    emit_event(emit, settings_.metrics_topic, "patchstream.metric.v1", settings_.instance_id, event,
               {});
  }
}

}  // namespace patchstream
