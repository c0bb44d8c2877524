// The processor's Prometheus metrics (issue 5): every family and labelled child is created at
// startup, so counters start at 0 and the per-event path only increments and observes.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "alerting/outcome.h"
#include "pipeline/applier.h"
#include "pipeline/batch.h"
#include "pipeline/decoder.h"

namespace patchstream::metrics {

using alerting::BatchStatus;
using alerting::Route;

// patchstream_dead_letters_total{reason}: the decoder's codes plus an output too large to publish
// (a result, or an event to forward to the legacy topic).
enum class DeadLetterReason : std::uint8_t {
  not_json,
  not_an_object,
  invalid_identity,
  too_large,
  result_too_large,
  legacy_too_large,
};
inline constexpr int kDeadLetterReasonCount = 6;

std::string_view reason_name(DeadLetterReason reason) noexcept;
DeadLetterReason to_reason(DeadLetterCode code) noexcept;

// Patches of a batch by op, indexed by static_cast<size_t>(Op).
using PatchCounts = std::array<std::uint32_t, 3>;
PatchCounts count_patches(const Batch& batch) noexcept;

struct ProcessorMetricsConfig {
  // Partitions 0..max_partitions-1 get a lag gauge; higher ones are not exported (bounded labels).
  std::int32_t max_partitions = 256;
};

// Increment/observe/set are thread-safe (prometheus-cpp atomics; its histograms lock briefly).
// set_lag/clear_lag/set_flag_percentage create a child on first use: call them from one thread.
class ProcessorMetrics {
 public:
  explicit ProcessorMetrics(std::shared_ptr<prometheus::Registry> registry,
                            ProcessorMetricsConfig config = {});

  // One batch: patchstream_batches_total, patchstream_patches_total, the latency histograms
  // (stages parse/normalize/execute for the pipeline route, total for both) and the batch size.
  void record_result(Route route, BatchStatus status, const Timings& timings,
                     const PatchCounts& patches) noexcept;
  void record_violation(ViolationCode code) noexcept;
  void record_violations(std::span<const Violation> violations) noexcept;
  void record_dead_letter(DeadLetterReason reason) noexcept;
  void record_dead_letter(DeadLetterCode code) noexcept { record_dead_letter(to_reason(code)); }

  void set_lag(std::int32_t partition, std::int64_t lag);
  void clear_lag(std::int32_t partition);  // on revocation: the partition is no longer ours
  void set_flag_percentage(std::string_view flag, int percentage);
  void flag_changed() noexcept;
  // A rollout plan's state and wave (1-based) after a transition this instance wrote; one thread
  // (the rollout controller's) calls it.
  void set_rollout(std::string_view flag, std::string_view state, std::size_t wave);
  // An auto-rollback write the flag store refused or failed (it is retried).
  void auto_rollback_failed() noexcept;
  void transaction_aborted() noexcept;
  // One committed transaction (or at-least-once offset commit): how long the commit call blocked
  // the loop and how many events it made visible.
  void transaction_committed(std::size_t events, double seconds) noexcept;
  // The loop woke librdkafka's parked fetchers (the input ran dry with records waiting).
  void fetcher_woken() noexcept;
  void set_in_flight(std::int64_t events) noexcept;
  void set_transaction_age(double seconds) noexcept;

  const std::shared_ptr<prometheus::Registry>& registry() const noexcept { return registry_; }

 private:
  static constexpr int kStageCount = 4;  // parse, normalize, execute, total
  static constexpr int kOpCount = 3;

  std::shared_ptr<prometheus::Registry> registry_;
  ProcessorMetricsConfig config_;
  std::array<std::array<prometheus::Counter*, alerting::kBatchStatusCount>, alerting::kRouteCount>
      batches_{};
  std::array<std::array<prometheus::Counter*, alerting::kBatchStatusCount>, kOpCount> patches_{};
  std::array<prometheus::Counter*, kViolationCodeCount> violations_{};
  std::array<prometheus::Counter*, kDeadLetterReasonCount> dead_letters_{};
  prometheus::Counter* flag_changes_ = nullptr;
  prometheus::Counter* transaction_aborts_ = nullptr;
  prometheus::Counter* auto_rollback_failures_ = nullptr;
  prometheus::Histogram* commit_duration_ = nullptr;
  prometheus::Histogram* commit_events_ = nullptr;
  prometheus::Counter* fetcher_wakeups_ = nullptr;
  std::array<std::array<prometheus::Histogram*, kStageCount>, alerting::kRouteCount> latency_{};
  std::array<prometheus::Histogram*, alerting::kRouteCount> batch_size_{};
  prometheus::Family<prometheus::Gauge>* flag_percentage_ = nullptr;
  prometheus::Family<prometheus::Gauge>* lag_family_ = nullptr;
  prometheus::Family<prometheus::Gauge>* rollout_wave_ = nullptr;
  prometheus::Family<prometheus::Gauge>* rollout_state_ = nullptr;
  std::vector<prometheus::Gauge*> lag_;  // by partition, null until first set
  prometheus::Gauge* in_flight_ = nullptr;
  prometheus::Gauge* transaction_age_ = nullptr;
};

}  // namespace patchstream::metrics
