// What /healthz and /readyz report: atomics written by the Kafka loop, read by the admin server.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace patchstream {

struct HealthState {
  std::atomic<bool> running{true};  // false once shutdown began (alive, not ready)
  std::atomic<bool> flags_loaded{false};
  std::atomic<int> assigned_partitions{0};
  std::atomic<std::int64_t> broker_ok_ms{0};  // steady-clock ms of the last broker round trip
  std::atomic<std::int64_t> events_total{0};

  static std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  void broker_answered() { broker_ok_ms.store(now_ms(), std::memory_order_relaxed); }
  bool broker_reachable(std::int64_t within_ms = 15'000) const {
    const auto t = broker_ok_ms.load(std::memory_order_relaxed);
    return t != 0 && now_ms() - t <= within_ms;
  }
  bool ready() const {
    return running.load() && flags_loaded.load() && assigned_partitions.load() > 0 &&
           broker_reachable();
  }
};

}  // namespace patchstream
