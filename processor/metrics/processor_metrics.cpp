// Families and children of the processor's metrics, created once; per-event updates.
#include "metrics/processor_metrics.h"

#include <algorithm>
#include <string>

namespace patchstream::metrics {

namespace {

constexpr std::array<const char*, 4> kStages = {"parse", "normalize", "execute", "total"};

// Per-batch latency runs from microseconds (the pipeline) to seconds (a stuck broker); the SPEC
// §4 alert thresholds (0.6, 0.8, 1, 1.5 s) are bucket bounds so histogram_quantile is exact there.
const prometheus::Histogram::BucketBoundaries& latency_buckets() {
  static const prometheus::Histogram::BucketBoundaries buckets = {
      0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
      0.05,    0.1,      0.25,    0.5,    0.6,     0.8,    1.0,   1.5,    2.5,   5.0,  10.0};
  return buckets;
}

const prometheus::Histogram::BucketBoundaries& size_buckets() {
  static const prometheus::Histogram::BucketBoundaries buckets = {
      1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000};
  return buckets;
}

std::string route_label(int route) {
  return std::string(alerting::route_name(static_cast<Route>(route)));
}

}  // namespace

std::string_view reason_name(DeadLetterReason reason) noexcept {
  switch (reason) {
    case DeadLetterReason::not_json:
      return "not_json";
    case DeadLetterReason::not_an_object:
      return "not_an_object";
    case DeadLetterReason::invalid_identity:
      return "invalid_identity";
    case DeadLetterReason::too_large:
      return "too_large";
    case DeadLetterReason::result_too_large:
      return "result_too_large";
    case DeadLetterReason::legacy_too_large:
      return "legacy_too_large";
  }
  return "unknown";
}

DeadLetterReason to_reason(DeadLetterCode code) noexcept {
  switch (code) {
    case DeadLetterCode::not_json:
      return DeadLetterReason::not_json;
    case DeadLetterCode::not_an_object:
      return DeadLetterReason::not_an_object;
    case DeadLetterCode::invalid_identity:
      return DeadLetterReason::invalid_identity;
    case DeadLetterCode::too_large:
      return DeadLetterReason::too_large;
  }
  return DeadLetterReason::not_json;
}

PatchCounts count_patches(const Batch& batch) noexcept {
  PatchCounts counts{};
  for (const Patch& patch : batch.patches)
    ++counts[static_cast<std::size_t>(patch.op)];
  return counts;
}

ProcessorMetrics::ProcessorMetrics(std::shared_ptr<prometheus::Registry> registry,
                                   ProcessorMetricsConfig config)
    : registry_(std::move(registry)), config_(config) {
  auto& batches = prometheus::BuildCounter()
                      .Name("patchstream_batches_total")
                      .Help("Patch-batches processed, by route and outcome.")
                      .Register(*registry_);
  auto& patches = prometheus::BuildCounter()
                      .Name("patchstream_patches_total")
                      .Help("Patches in processed batches, by op and the batch's outcome.")
                      .Register(*registry_);
  for (int s = 0; s < alerting::kBatchStatusCount; ++s) {
    const std::string status(alerting::status_name(static_cast<BatchStatus>(s)));
    for (int r = 0; r < alerting::kRouteCount; ++r) {
      batches_[r][s] = &batches.Add({{"route", route_label(r)}, {"status", status}});
    }
    for (int op = 0; op < kOpCount; ++op) {
      patches_[op][s] =
          &patches.Add({{"op", std::string(op_name(static_cast<Op>(op)))}, {"status", status}});
    }
  }

  auto& violations = prometheus::BuildCounter()
                         .Name("patchstream_violations_total")
                         .Help("Rule violations found in batches, by code (SPEC §1).")
                         .Register(*registry_);
  for (int c = 0; c < kViolationCodeCount; ++c) {
    violations_[c] =
        &violations.Add({{"code", std::string(code_name(static_cast<ViolationCode>(c)))}});
  }

  auto& dead_letters = prometheus::BuildCounter()
                           .Name("patchstream_dead_letters_total")
                           .Help("Records sent to the dead-letter topic, by reason.")
                           .Register(*registry_);
  for (int r = 0; r < kDeadLetterReasonCount; ++r) {
    dead_letters_[r] =
        &dead_letters.Add({{"reason", std::string(reason_name(static_cast<DeadLetterReason>(r)))}});
  }

  flag_changes_ = &prometheus::BuildCounter()
                       .Name("patchstream_flag_changes_total")
                       .Help("Rollout flag changes this instance has applied.")
                       .Register(*registry_)
                       .Add({});
  rollout_wave_ = &prometheus::BuildGauge()
                       .Name("patchstream_rollout_wave")
                       .Help("Current wave (1-based) of each flag's rollout plan.")
                       .Register(*registry_);
  rollout_state_ = &prometheus::BuildGauge()
                        .Name("patchstream_rollout_state")
                        .Help(
                            "1 for the rollout plan's current state (running, paused, "
                            "completed, aborted), 0 for the others.")
                        .Register(*registry_);
  auto_rollback_failures_ =
      &prometheus::BuildCounter()
           .Name("patchstream_auto_rollback_failures_total")
           .Help(
               "Auto-rollback writes the flag store refused or failed; the rollback is retried "
               "until it is durable, so any rise means the flag was not yet at 0% everywhere.")
           .Register(*registry_)
           .Add({});
  transaction_aborts_ =
      &prometheus::BuildCounter()
           .Name("patchstream_transaction_aborts_total")
           .Help(
               "Transactions aborted (their events are processed again from the committed "
               "offsets); a steady rise means an event or the broker keeps refusing a commit.")
           .Register(*registry_)
           .Add({});

  commit_duration_ =
      &prometheus::BuildHistogram()
           .Name("patchstream_commit_duration_seconds")
           .Help(
               "Time the Kafka loop spent committing (offsets into the transaction, flush, "
               "commit); consumption waits meanwhile. The count is the number of commits.")
           .Register(*registry_)
           .Add({}, latency_buckets());
  commit_events_ = &prometheus::BuildHistogram()
                        .Name("patchstream_commit_events")
                        .Help("Events (results, legacy copies, dead letters) per commit.")
                        .Register(*registry_)
                        .Add({}, size_buckets());

  fetcher_wakeups_ =
      &prometheus::BuildCounter()
           .Name("patchstream_fetcher_wakeups_total")
           .Help(
               "Times the loop ran dry with input records waiting and woke librdkafka's parked "
               "fetcher (it rises while a backlog drains at full speed, or while an upstream "
               "transaction stays open).")
           .Register(*registry_)
           .Add({});

  auto& latency = prometheus::BuildHistogram()
                      .Name("patchstream_batch_latency_seconds")
                      .Help("Batch processing time by route and stage (total: receipt to result).")
                      .Register(*registry_);
  auto& size = prometheus::BuildHistogram()
                   .Name("patchstream_batch_size_patches")
                   .Help("Patches per batch, by route.")
                   .Register(*registry_);
  for (int r = 0; r < alerting::kRouteCount; ++r) {
    for (int stage = 0; stage < kStageCount; ++stage) {
      latency_[r][stage] =
          &latency.Add({{"route", route_label(r)}, {"stage", kStages[stage]}}, latency_buckets());
    }
    batch_size_[r] = &size.Add({{"route", route_label(r)}}, size_buckets());
  }

  flag_percentage_ = &prometheus::BuildGauge()
                          .Name("patchstream_flag_percentage")
                          .Help("Rollout percentage of each flag (0 when disabled).")
                          .Register(*registry_);
  lag_family_ = &prometheus::BuildGauge()
                     .Name("patchstream_consumer_lag_records")
                     .Help("Records behind the end of each assigned input partition.")
                     .Register(*registry_);
  lag_.assign(static_cast<std::size_t>(std::max(config_.max_partitions, 0)), nullptr);
  in_flight_ = &prometheus::BuildGauge()
                    .Name("patchstream_events_in_flight")
                    .Help("Input records consumed whose outputs are not yet committed.")
                    .Register(*registry_)
                    .Add({});
  transaction_age_ = &prometheus::BuildGauge()
                          .Name("patchstream_open_transaction_age_seconds")
                          .Help("Age of the open Kafka transaction, 0 when none is open.")
                          .Register(*registry_)
                          .Add({});
}

void ProcessorMetrics::record_result(Route route, BatchStatus status, const Timings& timings,
                                     const PatchCounts& patches) noexcept {
  const auto r = static_cast<std::size_t>(route);
  const auto s = static_cast<std::size_t>(status);
  batches_[r][s]->Increment();
  std::uint64_t total_patches = 0;
  for (std::size_t op = 0; op < patches.size(); ++op) {
    if (patches[op] > 0) patches_[op][s]->Increment(patches[op]);
    total_patches += patches[op];
  }
  if (route == Route::pipeline) {
    latency_[r][0]->Observe(static_cast<double>(timings.parse_us) * 1e-6);
    latency_[r][1]->Observe(static_cast<double>(timings.normalize_us) * 1e-6);
    latency_[r][2]->Observe(static_cast<double>(timings.execute_us) * 1e-6);
  }
  latency_[r][3]->Observe(static_cast<double>(timings.total_us) * 1e-6);
  batch_size_[r]->Observe(static_cast<double>(total_patches));
}

void ProcessorMetrics::record_violation(ViolationCode code) noexcept {
  const auto c = static_cast<std::size_t>(code);
  if (c < violations_.size()) violations_[c]->Increment();
}

void ProcessorMetrics::record_violations(std::span<const Violation> violations) noexcept {
  for (const Violation& violation : violations)
    record_violation(violation.code);
}

void ProcessorMetrics::record_dead_letter(DeadLetterReason reason) noexcept {
  const auto r = static_cast<std::size_t>(reason);
  if (r < dead_letters_.size()) dead_letters_[r]->Increment();
}

void ProcessorMetrics::set_lag(std::int32_t partition, std::int64_t lag) {
  if (partition < 0 || static_cast<std::size_t>(partition) >= lag_.size()) return;
  auto& gauge = lag_[static_cast<std::size_t>(partition)];
  if (gauge == nullptr) gauge = &lag_family_->Add({{"partition", std::to_string(partition)}});
  gauge->Set(static_cast<double>(lag));
}

void ProcessorMetrics::clear_lag(std::int32_t partition) {
  if (partition < 0 || static_cast<std::size_t>(partition) >= lag_.size()) return;
  auto& gauge = lag_[static_cast<std::size_t>(partition)];
  if (gauge != nullptr) lag_family_->Remove(gauge);
  gauge = nullptr;
}

void ProcessorMetrics::set_flag_percentage(std::string_view flag, int percentage) {
  // Family::Add returns the existing child for labels it has seen.
  flag_percentage_->Add({{"flag", std::string(flag)}}).Set(percentage);
}

void ProcessorMetrics::flag_changed() noexcept {
  flag_changes_->Increment();
}

void ProcessorMetrics::set_rollout(std::string_view flag, std::string_view state,
                                   std::size_t wave) {
  const std::string name(flag);
  rollout_wave_->Add({{"flag", name}}).Set(static_cast<double>(wave));
  for (const char* s : {"running", "paused", "completed", "aborted"}) {
    rollout_state_->Add({{"flag", name}, {"state", s}}).Set(state == s ? 1 : 0);
  }
}

void ProcessorMetrics::auto_rollback_failed() noexcept {
  auto_rollback_failures_->Increment();
}

void ProcessorMetrics::transaction_aborted() noexcept {
  transaction_aborts_->Increment();
}

void ProcessorMetrics::transaction_committed(std::size_t events, double seconds) noexcept {
  commit_duration_->Observe(seconds);
  commit_events_->Observe(static_cast<double>(events));
}

void ProcessorMetrics::fetcher_woken() noexcept {
  fetcher_wakeups_->Increment();
}

void ProcessorMetrics::set_in_flight(std::int64_t events) noexcept {
  in_flight_->Set(static_cast<double>(events));
}

void ProcessorMetrics::set_transaction_age(double seconds) noexcept {
  transaction_age_->Set(seconds);
}

}  // namespace patchstream::metrics
