// The thread that talks HTTP to the Alertmanagers: the Kafka loop hands it one batch at a time and
// picks up the report, so the loop itself only ever blocks on Kafka.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "alert_router/alert_batch.h"
#include "alert_router/delivery.h"
#include "alert_router/router_health.h"
#include "alert_router/router_metrics.h"
#include "logging/logger.h"

namespace patchstream::alert_router {

struct DeliveredBatch {
  AlertBatch batch;
  DeliveryReport report;
};

class DeliveryWorker {
 public:
  // `stop` ends retrying: the batch in flight comes back incomplete (its offsets stay uncommitted).
  DeliveryWorker(std::vector<std::unique_ptr<AlertSender>> senders,
                 std::chrono::milliseconds backoff_initial, std::chrono::milliseconds backoff_max,
                 RouterMetrics& metrics, RouterHealth& health, Logger& log,
                 const std::atomic<bool>& stop);
  ~DeliveryWorker();  // joins; call after the loop stopped submitting
  DeliveryWorker(const DeliveryWorker&) = delete;
  DeliveryWorker& operator=(const DeliveryWorker&) = delete;

  bool idle() const { return !busy_.load(std::memory_order_acquire); }
  // Only when idle(): takes the batch and starts delivering it.
  void submit(AlertBatch batch);
  // The batch that finished, once; nullopt while one is in flight or none finished.
  std::optional<DeliveredBatch> take();

 private:
  void run();
  DeliveryReport deliver(const AlertBatch& batch);
  void account(const AlertBatch& batch, const DeliveryReport& report);

  std::vector<std::unique_ptr<AlertSender>> senders_;
  std::vector<AlertSender*> sender_views_;
  std::chrono::milliseconds backoff_initial_;
  std::chrono::milliseconds backoff_max_;
  RouterMetrics& metrics_;
  RouterHealth& health_;
  Logger& log_;
  const std::atomic<bool>& stop_;

  std::mutex mutex_;
  std::condition_variable wake_;
  std::optional<AlertBatch> inbox_;
  std::optional<DeliveredBatch> outbox_;
  bool shutting_down_ = false;
  std::atomic<bool> busy_{false};  // from submit() until take() returned the batch
  std::thread thread_;
};

}  // namespace patchstream::alert_router
