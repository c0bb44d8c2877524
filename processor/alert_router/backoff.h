// Capped exponential backoff between delivery attempts while an Alertmanager is unavailable.
#pragma once

#include <chrono>

namespace patchstream::alert_router {

class Backoff {
 public:
  // initial > 0, max >= initial (the configuration validates both).
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max)
      : initial_(initial), max_(max), next_(initial) {}

  // The wait before the next attempt: initial, 2×initial, 4×initial, ... never above max.
  std::chrono::milliseconds next() {
    const auto wait = next_;
    next_ = next_ >= max_ / 2 ? max_ : next_ * 2;
    return wait;
  }
  void reset() { next_ = initial_; }

 private:
  std::chrono::milliseconds initial_;
  std::chrono::milliseconds max_;
  std::chrono::milliseconds next_;
};

}  // namespace patchstream::alert_router
