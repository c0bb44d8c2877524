// Delivering one batch to every Alertmanager: retries with backoff while one is unavailable, and
// bisection on a refusal so a bad record is isolated and skipped without blocking the rest.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "alert_router/alert_batch.h"
#include "alert_router/backoff.h"

namespace patchstream::alert_router {

enum class SendStatus : std::uint8_t {
  accepted,     // 2xx
  refused,      // 400, 413, 422: this content is not acceptable, sending it again won't help
  unavailable,  // no connection, timeout, any other status: try again later
};

struct SendOutcome {
  SendStatus status = SendStatus::unavailable;
  unsigned http_status = 0;  // 0 when no HTTP answer came
  std::string detail;        // the error, or the start of the answer's body
};

// The HTTP status classified for a client that may resend (Alertmanager deduplicates).
SendStatus classify_http_status(unsigned status) noexcept;

// One Alertmanager. Called from the delivery worker only.
class AlertSender {
 public:
  virtual ~AlertSender() = default;
  virtual const std::string& name() const = 0;  // its URL, the metrics' `alertmanager` label
  // POST /api/v2/alerts with `body` (a JSON array of postable alerts).
  virtual SendOutcome post_alerts(std::string_view body) = 0;
};

struct SkippedRecord {
  std::size_t index = 0;  // into the batch's records
  SkipReason reason = SkipReason::refused;
  unsigned http_status = 0;  // for `refused`
  std::string alertmanager;  // who refused it
  std::string detail;        // Alertmanager's reason
};

struct DeliveryReport {
  bool complete = false;  // every Alertmanager took every sendable record (or refused it alone)
  std::size_t delivered = 0;
  std::size_t retries = 0;             // backoff waits
  std::vector<SkippedRecord> skipped;  // pre-check skips and refusals, in record order
};

struct DeliveryHooks {
  // After every request, with how long it took.
  std::function<void(std::size_t sender, const SendOutcome&, std::chrono::duration<double>)>
      on_attempt;
  // Wait before the next round; false when the router is stopping (the batch stays uncommitted).
  std::function<bool(std::chrono::milliseconds)> wait;
  // Called before each wait with true, and with false once every Alertmanager took the batch.
  std::function<void(bool blocked)> on_blocked;
};

// Sends `batch` to every sender until each has accepted every sendable record. A sender that is
// unavailable is retried (only it, and only the part it has not taken) after backoff.next(); a
// refused request is split in halves until the refused record stands alone, which is then skipped.
DeliveryReport deliver_batch(const AlertBatch& batch, std::span<AlertSender* const> senders,
                             Backoff backoff, const DeliveryHooks& hooks);

}  // namespace patchstream::alert_router
