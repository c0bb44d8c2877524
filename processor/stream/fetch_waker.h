// When the Kafka loop wakes librdkafka's parked fetchers, and when it stops trying.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>

namespace patchstream {

// librdkafka 2.0 parks a fetcher for up to a second once its prefetch queue was full
// (Consumer::wake_parked_fetchers). The loop wakes it as soon as a poll comes back empty while
// records are known to be waiting. "Waiting" is judged by the high watermark, which also counts
// what a read_committed consumer cannot receive yet: the records of an upstream transaction still
// open (KafkaBroker.OpenUpstreamTransactionLooksLikeWaitingRecords). So when waking brings
// nothing, the next attempt waits twice as long (up to the second librdkafka would wait anyway),
// and any message resets that.
class FetchWaker {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::milliseconds kFirstRetry{20};
  static constexpr std::chrono::milliseconds kLongestRetry{1000};

  // After a poll came back empty: is it time to wake the fetchers?
  bool due(Clock::time_point now) const { return now >= next_; }
  // The wake call found `waiting` partitions with records past their position.
  void woke(std::size_t waiting, Clock::time_point now) {
    if (waiting == 0) return;  // caught up: nothing to back off from
    retry_ = retry_ == std::chrono::milliseconds::zero() ? kFirstRetry
                                                         : std::min(retry_ * 2, kLongestRetry);
    next_ = now + retry_;
  }
  void message_arrived() {
    retry_ = std::chrono::milliseconds::zero();
    next_ = {};
  }

 private:
  std::chrono::milliseconds retry_{0};
  Clock::time_point next_{};
};

}  // namespace patchstream
