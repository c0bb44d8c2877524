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
  std::atomic<bool> broker_down{true};  // until the first round trip; again on transport errors
  std::atomic<std::int64_t> events_total{0};
  std::atomic<std::int64_t> commit_started_ms{0};  // steady-clock ms; 0 when no commit is running

  static std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  // A commit that takes seconds means the broker is not answering (it blocks the loop meanwhile).
  bool commit_stalled(std::int64_t limit_ms = 2000) const {
    const auto t = commit_started_ms.load(std::memory_order_relaxed);
    return t != 0 && now_ms() - t > limit_ms;
  }

  void broker_answered() { broker_down.store(false, std::memory_order_relaxed); }
  void broker_lost() { broker_down.store(true, std::memory_order_relaxed); }
  bool broker_reachable() const { return !broker_down.load(std::memory_order_relaxed); }
  bool ready() const {
    return running.load() && flags_loaded.load() && assigned_partitions.load() > 0 &&
           broker_reachable() && !commit_stalled();
  }
};

}  // namespace patchstream
