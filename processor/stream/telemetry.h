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
#include "flags/flag_registry.h"
#include "kafka/records.h"
#include "logging/logger.h"
#include "metrics/processor_metrics.h"
#include "rollout/evidence.h"
#include "stream/emit.h"
#include "stream/event_router.h"
#include "stream/stream_processor.h"

namespace patchstream {

struct TelemetrySettings {
  std::string instance_id;
  std::string flag;
  std::string metrics_topic, alerts_topic;
  std::chrono::milliseconds metrics_interval{10'000};
  std::chrono::milliseconds evaluate_every{1'000};  // alert evaluation, evidence records
  alerting::AlertConfig alerts;
  std::string evidence_topic;  // the rollout controller's evidence; empty: not published
};

// Sets the flag to 0 % (and aborts its plan) off the loop thread; must not block.
using RollbackRequest = std::function<void(std::string flag, std::string reason)>;

class Telemetry {
 public:
  Telemetry(TelemetrySettings settings, metrics::ProcessorMetrics& metrics,
            const flags::FlagRegistry& registry, RollbackRequest rollback, Logger& log);

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
  void auto_rollback(const alerting::RollbackEvidence& evidence);
  void publish_evidence(const Emit& emit);

  TelemetrySettings settings_;
  metrics::ProcessorMetrics& metrics_;
  flags::FlagReader flags_;
  RollbackRequest rollback_;
  Logger& log_;
  alerting::AlertEngine engine_;
  alerting::MetricEventBuilder metric_events_;
  std::chrono::steady_clock::time_point last_evaluate_, last_metric_event_;
  std::uint64_t consumed_ = 0, consumed_at_last_tick_ = 0;
  int last_percentage_ = -1;             // the flag's effective percentage (0 when disabled)
  int evidence_percentage_ = -1;         // the percentage the pipeline evidence was gathered at
  std::uint64_t evidence_revision_ = 0;  // the flag revision last seen by a tick
  rollout::EvidenceRecord evidence_;     // this instance's pipeline samples since the change
  std::vector<std::int32_t> lag_partitions_;  // partitions with a lag gauge
  std::uint64_t sequence_ = 0;
  std::string source_;
};

}  // namespace patchstream
