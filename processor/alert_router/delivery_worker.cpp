// The delivery worker: one batch at a time through deliver_batch, with metrics, logs and readiness.
#include "alert_router/delivery_worker.h"

namespace patchstream::alert_router {

DeliveryWorker::DeliveryWorker(std::vector<std::unique_ptr<AlertSender>> senders,
                               std::chrono::milliseconds backoff_initial,
                               std::chrono::milliseconds backoff_max, RouterMetrics& metrics,
                               RouterHealth& health, Logger& log, const std::atomic<bool>& stop)
    : senders_(std::move(senders)),
      backoff_initial_(backoff_initial),
      backoff_max_(backoff_max),
      metrics_(metrics),
      health_(health),
      log_(log),
      stop_(stop) {
  for (const auto& s : senders_)
    sender_views_.push_back(s.get());
  thread_ = std::thread([this] { run(); });
}

DeliveryWorker::~DeliveryWorker() {
  {
    std::lock_guard lock(mutex_);
    shutting_down_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void DeliveryWorker::submit(AlertBatch batch) {
  busy_.store(true, std::memory_order_release);
  {
    std::lock_guard lock(mutex_);
    inbox_.emplace(std::move(batch));
  }
  wake_.notify_one();
}

std::optional<DeliveredBatch> DeliveryWorker::take() {
  std::lock_guard lock(mutex_);
  if (!outbox_) return std::nullopt;
  std::optional<DeliveredBatch> out = std::move(outbox_);
  outbox_.reset();
  busy_.store(false, std::memory_order_release);
  return out;
}

void DeliveryWorker::run() {
  for (;;) {
    std::optional<AlertBatch> batch;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return shutting_down_ || inbox_.has_value(); });
      if (!inbox_) return;
      batch = std::move(inbox_);
      inbox_.reset();
    }
    DeliveryReport report = deliver(*batch);
    account(*batch, report);
    std::lock_guard lock(mutex_);
    outbox_.emplace(DeliveredBatch{std::move(*batch), std::move(report)});
  }
}

DeliveryReport DeliveryWorker::deliver(const AlertBatch& batch) {
  DeliveryHooks hooks;
  hooks.on_attempt = [this](std::size_t sender, const SendOutcome& outcome,
                            std::chrono::duration<double> took) {
    metrics_.attempt(sender, outcome, took.count());
    if (outcome.status == SendStatus::unavailable)
      log_.warn("alertmanager unavailable; retrying with backoff",
                {{"alertmanager", senders_[sender]->name()},
                 {"status", outcome.http_status},
                 {"error", outcome.detail}});
  };
  hooks.on_blocked = [this](bool blocked) {
    health_.blocked.store(blocked);
    metrics_.set_blocked(blocked);
  };
  hooks.wait = [this](std::chrono::milliseconds wait) {
    metrics_.retried();
    // Sliced, so a stop is seen within 50 ms even during a long backoff.
    const auto until = std::chrono::steady_clock::now() + wait;
    while (std::chrono::steady_clock::now() < until) {
      if (stop_.load()) return false;
      std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
          std::chrono::milliseconds(50), until - std::chrono::steady_clock::now()));
    }
    return !stop_.load();
  };
  return deliver_batch(batch, sender_views_, Backoff(backoff_initial_, backoff_max_), hooks);
}

void DeliveryWorker::account(const AlertBatch& batch, const DeliveryReport& report) {
  if (!report.complete) return;  // stopping: nothing is counted, the batch will be read again
  metrics_.delivered(report.delivered);
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  std::size_t next_skip = 0;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const auto& record = batch.records()[i];
    if (next_skip < report.skipped.size() && report.skipped[next_skip].index == i) {
      const auto& s = report.skipped[next_skip++];
      metrics_.skipped(s.reason);
      log_.warn("alert event skipped", {{"reason", skip_reason_name(s.reason)},
                                        {"topic", batch.topic()},
                                        {"partition", record.partition},
                                        {"offset", record.offset},
                                        {"alertmanager", s.alertmanager},
                                        {"status", s.http_status},
                                        {"detail", s.detail}});
      continue;
    }
    if (record.timestamp_ms >= 0)
      metrics_.delivery_latency(
          static_cast<double>(std::max<std::int64_t>(0, now_ms - record.timestamp_ms)) / 1000.0);
  }
}

}  // namespace patchstream::alert_router
