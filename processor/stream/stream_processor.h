// The Kafka loop: consume → route → produce, committed exactly once (transactions) or at least
// once.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "kafka/config.h"
#include "logging/logger.h"
#include "stream/emit.h"
#include "stream/event_router.h"
#include "stream/health.h"

namespace patchstream {

struct StreamSettings {
  kafka::KafkaConfig kafka;
  std::string input_topic;
  std::string group_id;
  std::string transactional_id;  // stable per instance: a restart fences its predecessor
  bool exactly_once = true;
  std::size_t commit_every_events = 5000;
  std::chrono::milliseconds commit_every{100};
  std::chrono::milliseconds shutdown_timeout{10'000};
  std::vector<std::string> output_topics;  // their metadata is loaded before the first event
};

// Records behind the end of one assigned input partition.
struct PartitionLag {
  std::int32_t partition = 0;
  std::uint64_t records = 0;
};

// Called on the loop thread for every routed event and after every commit (metrics, alerts).
struct StreamObserver {
  std::function<void(const OutputRecord&)> on_output;
  std::function<void(std::size_t events, std::chrono::steady_clock::duration took)> on_commit;
  std::function<void()> on_abort;
  // The loop woke parked fetchers (FetchWaker): `waiting` partitions had records past the position.
  std::function<void(std::size_t waiting)> on_fetcher_wake;
  // About every 100 ms: `lag` has one entry per assigned partition (refreshed each second; a
  // revoked partition is absent), `in_flight` events not yet committed, `txn_age` seconds the
  // transaction is open.
  std::function<void(const Emit& emit, std::span<const PartitionLag> lag, std::size_t in_flight,
                     double txn_age)>
      on_tick;
};

class StreamProcessor {
 public:
  StreamProcessor(StreamSettings settings, EventRouter& router, Logger& log, HealthState& health,
                  StreamObserver observer = {});

  // Runs until `stop` is set (returns 0 after a clean shutdown) or a fatal Kafka error (returns 1,
  // so the supervisor restarts the process).
  int run(const std::atomic<bool>& stop);

 private:
  struct Loop;
  StreamSettings settings_;
  EventRouter& router_;
  Logger& log_;
  HealthState& health_;
  StreamObserver observer_;
};

}  // namespace patchstream
