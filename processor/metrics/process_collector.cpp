// /proc readers behind the process_* metrics (Linux only, like the processor).
#include "metrics/process_collector.h"

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>

#include <prometheus/client_metric.h>

namespace patchstream::metrics {

namespace {

double boot_time_seconds() {
  std::ifstream stat("/proc/stat");
  std::string key;
  double value = 0;
  while (stat >> key) {
    if (key == "btime") {
      stat >> value;
      return value;
    }
    stat.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  return 0;
}

prometheus::MetricFamily family(const char* name, const char* help, prometheus::MetricType type,
                                double value) {
  prometheus::MetricFamily family{name, help, type, {}};
  prometheus::ClientMetric metric;
  if (type == prometheus::MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  family.metric.push_back(std::move(metric));
  return family;
}

}  // namespace

ProcessStats read_process_stats() {
  ProcessStats stats;
  std::ifstream file("/proc/self/stat");
  std::string line;
  if (std::getline(file, line)) {
    // The command name (field 2) may hold spaces and parentheses: fields resume after the last ')'.
    const auto close = line.rfind(')');
    if (close != std::string::npos) {
      std::istringstream fields(line.substr(close + 2));
      std::string field;
      // Fields 3.. of proc(5): utime is 14, stime 15, starttime 22, vsize 23, rss 24.
      unsigned long long utime = 0, stime = 0, start = 0, vsize = 0, rss = 0;
      for (int n = 3; n <= 24 && fields >> field; ++n) {
        const auto value = std::strtoull(field.c_str(), nullptr, 10);
        if (n == 14) utime = value;
        if (n == 15) stime = value;
        if (n == 22) start = value;
        if (n == 23) vsize = value;
        if (n == 24) rss = value;
      }
      const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
      const auto page = static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
      if (ticks > 0) {
        stats.cpu_seconds = static_cast<double>(utime + stime) / ticks;
        stats.start_time_seconds = boot_time_seconds() + static_cast<double>(start) / ticks;
      }
      stats.virtual_memory_bytes = vsize;
      stats.resident_memory_bytes = rss * page;
    }
  }
  std::error_code error;
  for (std::filesystem::directory_iterator it("/proc/self/fd", error), end; !error && it != end;
       it.increment(error)) {
    ++stats.open_fds;
  }
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    stats.max_fds = limit.rlim_cur;
  }
  return stats;
}

std::vector<prometheus::MetricFamily> ProcessCollector::Collect() const {
  using prometheus::MetricType;
  const ProcessStats stats = read_process_stats();
  std::vector<prometheus::MetricFamily> families;
  families.push_back(family("process_cpu_seconds_total",
                            "Total user and system CPU time spent in seconds.", MetricType::Counter,
                            stats.cpu_seconds));
  families.push_back(family("process_open_fds", "Number of open file descriptors.",
                            MetricType::Gauge, static_cast<double>(stats.open_fds)));
  families.push_back(family("process_max_fds", "Maximum number of open file descriptors.",
                            MetricType::Gauge, static_cast<double>(stats.max_fds)));
  families.push_back(family("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                            MetricType::Gauge, static_cast<double>(stats.virtual_memory_bytes)));
  families.push_back(family("process_resident_memory_bytes", "Resident memory size in bytes.",
                            MetricType::Gauge, static_cast<double>(stats.resident_memory_bytes)));
  families.push_back(family("process_start_time_seconds",
                            "Start time of the process since unix epoch in seconds.",
                            MetricType::Gauge, stats.start_time_seconds));
  return families;
}

}  // namespace patchstream::metrics
