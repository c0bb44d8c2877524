// Telemetry on the loop thread: Prometheus metrics, the alert engine, metric events, and the
// guarded rollout (auto-rollback) — fed per event, evaluated about once a second.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
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
#include "stream/stream_processor.h"

namespace patchstream {

struct TelemetrySettings {
  std::string instance_id;
  std::string flag;
  std::string metrics_topic, alerts_topic;
  std::chrono::milliseconds metrics_interval{10'000};
  std::chrono::milliseconds evaluate_every{1'000};  // alert evaluation and rollback retries
  alerting::AlertConfig alerts;
};

class Telemetry {
 public:
  Telemetry(TelemetrySettings settings, metrics::ProcessorMetrics& metrics,
            flags::FlagCatalog& catalog, const flags::FlagRegistry& registry, Logger& log);

  // Per routed event (loop thread): counters, histograms, alert windows. No allocation.
  void on_output(const OutputRecord& out);
  // About every 100 ms (loop thread). `lag`: records behind the end per assigned partition.
  void on_tick(const Emit& emit, std::span<const PartitionLag> lag, std::size_t in_flight,
               double txn_age_seconds);

 private:
  void emit_event(const Emit& emit, std::string_view topic, std::string_view type,
                  std::string_view key, std::string_view value, std::string_view alert_status);
  // The rollout percentage this instance routes by changed: pipeline evidence starts again.
  void percentage_changed(int percentage);
  void publish_lag(std::span<const PartitionLag> lag);
  // Sets the flag to 0 % on `evidence`; a failed write stays pending and is retried each second.
  void auto_rollback(const alerting::RollbackEvidence& evidence);
  void retry_rollback();

  TelemetrySettings settings_;
  metrics::ProcessorMetrics& metrics_;
  flags::FlagCatalog& catalog_;
  flags::FlagReader flags_;
  Logger& log_;
  alerting::AlertEngine engine_;
  alerting::MetricEventBuilder metric_events_;
  std::chrono::steady_clock::time_point last_evaluate_, last_metric_event_;
  std::uint64_t consumed_ = 0, consumed_at_last_tick_ = 0;
  int last_percentage_ = -1;             // the flag's effective percentage (0 when disabled)
  int evidence_percentage_ = -1;         // the percentage the pipeline evidence was gathered at
  std::uint64_t evidence_revision_ = 0;  // the flag revision last seen by a tick
  std::optional<std::string> pending_rollback_;  // its reason, while the write has not succeeded
  std::vector<std::int32_t> lag_partitions_;     // partitions with a lag gauge
  std::uint64_t sequence_ = 0;
  std::string source_;
};

}  // namespace patchstream
