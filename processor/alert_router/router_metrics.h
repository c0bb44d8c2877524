// The alert router's Prometheus metrics; families and fixed children are created at startup.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "alert_router/alert_batch.h"
#include "alert_router/delivery.h"

namespace patchstream::alert_router {

// Thread-safe (prometheus-cpp atomics; the refusal children are created under a lock).
class RouterMetrics {
 public:
  RouterMetrics(std::shared_ptr<prometheus::Registry> registry,
                const std::vector<std::string>& alertmanagers);

  void delivered(std::size_t events) noexcept;
  void delivery_latency(double seconds) noexcept;
  void skipped(SkipReason reason) noexcept;
  void retried() noexcept;
  // One request to Alertmanager `index` (its position in the configuration).
  void attempt(std::size_t index, const SendOutcome& outcome, double seconds);
  void set_blocked(bool blocked) noexcept;
  void set_lag(std::int64_t lag) noexcept;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  std::vector<std::string> alertmanagers_;
  prometheus::Counter* delivered_ = nullptr;
  prometheus::Histogram* latency_ = nullptr;
  std::array<prometheus::Counter*, kSkipReasonCount> skipped_{};
  prometheus::Counter* retries_ = nullptr;
  prometheus::Family<prometheus::Counter>* refusals_ = nullptr;
  std::vector<std::array<prometheus::Counter*, 3>> requests_;  // by sender, by SendStatus
  std::vector<prometheus::Gauge*> up_;
  std::vector<prometheus::Histogram*> request_duration_;
  prometheus::Gauge* blocked_ = nullptr;
  prometheus::Gauge* lag_ = nullptr;
  std::mutex refusal_mutex_;
  std::map<std::pair<std::size_t, unsigned>, prometheus::Counter*> refusal_children_;
};

}  // namespace patchstream::alert_router
