// What the alert router's /healthz and /readyz report: atomics written by its loop and worker.
#pragma once

#include <atomic>

namespace patchstream::alert_router {

struct RouterHealth {
  std::atomic<bool> running{true};      // false once shutdown began
  std::atomic<bool> subscribed{false};  // the consumer joined the alert topic's group
  std::atomic<bool> broker_down{true};  // until the first round trip; again on transport errors
  std::atomic<bool> blocked{false};     // a batch waits for an unavailable Alertmanager

  bool ready() const {
    return running.load() && subscribed.load() && !broker_down.load() && !blocked.load();
  }
};

}  // namespace patchstream::alert_router
