// Metric events (SPEC §2, schemas/metric-event.schema.json): per-window aggregates one instance
// publishes every N seconds, for consumers without Prometheus.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "alerting/latency_histogram.h"
#include "alerting/outcome.h"
#include "alerting/timestamp.h"

namespace patchstream::alerting {

// Not thread-safe: record from the processing loop, build from the same thread.
class MetricEventBuilder {
 public:
  MetricEventBuilder(std::string instance, WallTime window_start);

  // Per event: no allocation, no lock.
  void record(Route route, BatchStatus status, std::uint32_t patches,
              double latency_seconds) noexcept;
  void record_dead_letter() noexcept;

  // The metric event for [window_start, window_end) as compact JSON; the next window starts at
  // window_end with zero counts.
  std::string build(WallTime window_end, std::uint64_t consumer_lag,
                    std::uint64_t resident_memory_bytes);

  WallTime window_start() const noexcept { return window_start_; }

 private:
  struct RouteCounts {
    // The schema's statuses: applied, rejected, failed, forwarded (dead_lettered counts as failed).
    std::array<std::uint64_t, 4> batches{}, patches{};
    LatencyHistogram latency;
  };

  std::string instance_;
  WallTime window_start_;
  std::array<RouteCounts, kRouteCount> routes_;
  std::uint64_t dead_letters_ = 0;
};

}  // namespace patchstream::alerting
