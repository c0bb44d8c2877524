// Metric event aggregation and JSON encoding.
#include "alerting/metric_event.h"

#include <cmath>

#include <nlohmann/json.hpp>

namespace patchstream::alerting {

namespace {

constexpr std::array<const char*, 4> kStatuses = {"applied", "rejected", "failed", "forwarded"};

std::size_t schema_status(BatchStatus status) noexcept {
  switch (status) {
    case BatchStatus::applied:
      return 0;
    case BatchStatus::rejected:
      return 1;
    case BatchStatus::failed:
    case BatchStatus::dead_lettered:
      return 2;
    case BatchStatus::forwarded:
      return 3;
  }
  return 2;
}

// Milliseconds to the microsecond: finer digits are below the histogram's resolution anyway.
double milliseconds(double seconds) {
  return std::round(seconds * 1e6) / 1e3;
}

}  // namespace

MetricEventBuilder::MetricEventBuilder(std::string instance, WallTime window_start)
    : instance_(std::move(instance)), window_start_(window_start) {}

void MetricEventBuilder::record(Route route, BatchStatus status, std::uint32_t patches,
                                double latency_seconds) noexcept {
  RouteCounts& counts = routes_[static_cast<std::size_t>(route)];
  const std::size_t index = schema_status(status);
  ++counts.batches[index];
  counts.patches[index] += patches;
  counts.latency.record(latency_seconds);
}

void MetricEventBuilder::record_dead_letter() noexcept {
  ++dead_letters_;
}

std::string MetricEventBuilder::build(WallTime window_end, std::uint64_t consumer_lag,
                                      std::uint64_t resident_memory_bytes) {
  nlohmann::ordered_json event;
  event["instance"] = instance_;
  event["window_start"] = format_rfc3339(window_start_);
  event["window_end"] = format_rfc3339(window_end);
  auto& routes = event["routes"] = nlohmann::ordered_json::object();
  for (int r = 0; r < kRouteCount; ++r) {
    RouteCounts& counts = routes_[static_cast<std::size_t>(r)];
    auto& route = routes[std::string(route_name(static_cast<Route>(r)))];
    std::uint64_t all = 0;
    for (std::size_t s = 0; s < kStatuses.size(); ++s) {
      route["batches"][kStatuses[s]] = counts.batches[s];
      all += counts.batches[s];
    }
    for (std::size_t s = 0; s < kStatuses.size(); ++s) {
      route["patches"][kStatuses[s]] = counts.patches[s];
    }
    if (all == 0) {
      route["error_rate"] = nullptr;
      route["latency_ms"] = nullptr;
    } else {
      route["error_rate"] =
          static_cast<double>(counts.batches[1] + counts.batches[2]) / static_cast<double>(all);
      route["latency_ms"] = {{"p50", milliseconds(counts.latency.quantile(0.50))},
                             {"p95", milliseconds(counts.latency.quantile(0.95))},
                             {"p99", milliseconds(counts.latency.quantile(0.99))}};
    }
    counts = RouteCounts{};
  }
  event["dead_letters"] = dead_letters_;
  event["consumer_lag"] = consumer_lag;
  event["resident_memory_bytes"] = resident_memory_bytes;
  dead_letters_ = 0;
  window_start_ = window_end;
  return event.dump();
}

}  // namespace patchstream::alerting
