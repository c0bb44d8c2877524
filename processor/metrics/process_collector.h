// Process metrics read from /proc (prometheus-cpp has no process collector): the standard
// process_* names every Prometheus client library exports.
#pragma once

#include <cstdint>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

namespace patchstream::metrics {

struct ProcessStats {
  std::uint64_t resident_memory_bytes = 0;
  std::uint64_t virtual_memory_bytes = 0;
  double cpu_seconds = 0;
  double start_time_seconds = 0;  // since the Unix epoch
  std::uint64_t open_fds = 0;
  std::uint64_t max_fds = 0;
};

// This process's figures now; fields it cannot read stay 0 (never throws).
ProcessStats read_process_stats();

// process_resident_memory_bytes, process_virtual_memory_bytes, process_cpu_seconds_total,
// process_start_time_seconds, process_open_fds, process_max_fds; read at every scrape.
class ProcessCollector : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override;
};

}  // namespace patchstream::metrics
