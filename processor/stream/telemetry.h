// Telemetry on the loop thread: Prometheus metrics, the alert engine, metric events, and the
// guarded rollout (auto-rollback) — fed per event, evaluated about once a second.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "alerting/alert_engine.h"
#include "alerting/metric_event.h"
#include "flags/flag_catalog.h"
#include "kafka/records.h"
#include "logging/logger.h"
#include "metrics/processor_metrics.h"
#include "stream/emit.h"
#include "stream/event_router.h"

namespace patchstream {

struct TelemetrySettings {
  std::string instance_id;
  std::string flag;
  std::string metrics_topic, alerts_topic;
  std::chrono::milliseconds metrics_interval{10'000};
  alerting::AlertConfig alerts;
};

class Telemetry {
 public:
  Telemetry(TelemetrySettings settings, metrics::ProcessorMetrics& metrics,
            flags::FlagCatalog& catalog, const flags::FlagRegistry& registry, Logger& log);

  // Per routed event (loop thread): counters, histograms, alert windows. No allocation.
  void on_output(const OutputRecord& out);
  // About every 100 ms (loop thread). `lag`: records behind the end summed over the assignment.
  void on_tick(const Emit& emit, std::uint64_t lag, std::size_t in_flight, double txn_age_seconds);

 private:
  void emit_event(const Emit& emit, std::string_view topic, std::string_view type,
                  std::string_view key, std::string_view value, std::string_view alert_status);
  void auto_rollback(std::string_view alertname);

  TelemetrySettings settings_;
  metrics::ProcessorMetrics& metrics_;
  flags::FlagCatalog& catalog_;
  flags::FlagReader flags_;
  Logger& log_;
  alerting::AlertEngine engine_;
  alerting::MetricEventBuilder metric_events_;
  std::chrono::steady_clock::time_point last_evaluate_, last_metric_event_;
  std::uint64_t consumed_ = 0, consumed_at_last_tick_ = 0;
  int last_percentage_ = -1;
  std::uint64_t sequence_ = 0;
  std::string source_;
};

}  // namespace patchstream
