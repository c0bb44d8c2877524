// The alert router's Kafka loop: reads the alert topic in a consumer group (read_committed),
// batches the events for the delivery worker and commits a batch's offsets only once it was
// delivered.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <string>

#include "alert_router/delivery_worker.h"
#include "alert_router/router_health.h"
#include "alert_router/router_metrics.h"
#include "kafka/config.h"
#include "logging/logger.h"

namespace patchstream::alert_router {

struct AlertRouterSettings {
  kafka::KafkaConfig kafka;
  std::string topic;
  std::string group_id;
  std::size_t batch_max_events = 64;
  std::size_t batch_max_bytes = 1 << 20;
  std::chrono::milliseconds linger{50};
};

class AlertRouter {
 public:
  AlertRouter(AlertRouterSettings settings, DeliveryWorker& worker, RouterMetrics& metrics,
              RouterHealth& health, Logger& log);

  // Until `stop` (0) or a fatal Kafka error (1). Memory: the batch in flight, the batch being
  // filled, and what librdkafka had prefetched when fetching was paused
  // (queued.max.messages.kbytes).
  int run(const std::atomic<bool>& stop);

 private:
  AlertRouterSettings settings_;
  DeliveryWorker& worker_;
  RouterMetrics& metrics_;
  RouterHealth& health_;
  Logger& log_;
};

}  // namespace patchstream::alert_router
