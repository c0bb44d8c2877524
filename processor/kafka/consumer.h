// The group consumer for a transactional consume-transform-produce loop (eager range assignment,
// manual offsets).
#pragma once

#include "config.h"
#include "error.h"
#include "handles.h"
#include "records.h"

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace patchstream::kafka {

enum class RebalanceKind {
  Assigned,  // the partitions are assigned and fetching starts from their committed offsets
  Revoked,   // about to be taken away: commit (or abort) the open transaction now, positions are
             // still valid
  Lost,      // already taken away (session timed out): the open transaction must be aborted
};

// Runs inside poll() on the polling thread. For Revoked/Lost it runs before the partitions are
// unassigned.
using RebalanceHook = std::function<void(RebalanceKind kind, const PartitionOffsets& partitions)>;

struct ConsumerSettings {
  KafkaConfig config;  // bootstrap.servers, security.*, any librdkafka consumer property
  std::string group_id;
  RebalanceHook on_rebalance;
  ClientHooks hooks;
};

// Forced settings: enable.auto.commit=false, isolation.level=read_committed, an eager assignor
// (default "range"; cooperative-sticky is refused: librdkafka 2.0.2's cooperative rebalancing with
// transactions is buggy). Defaults the caller may override: auto.offset.reset=earliest,
// enable.auto.offset.store=false.
class Consumer {
 public:
  static Result<Consumer> create(ConsumerSettings settings);

  Consumer(Consumer&&) noexcept;
  Consumer& operator=(Consumer&&) noexcept;
  ~Consumer();  // closes without calling the rebalance hook; call close() for a clean group leave
                // with the hook

  Status subscribe(const std::vector<std::string>& topics);

  // A message, nullopt when `timeout` passed without one (or a partition EOF), or a consumer error.
  // Serves the rebalance hook and client hooks too, so call it at least every max.poll.interval.ms.
  Result<std::optional<Message>> poll(std::chrono::milliseconds timeout);

  Result<PartitionOffsets> assignment() const;
  // The current assignment with the next offset to read per partition (RD_KAFKA_OFFSET_INVALID
  // before any message was read): exactly what send_offsets_to_transaction and commit() want.
  Result<PartitionOffsets> positions() const;
  // Committed offsets of the group for `partitions` (the current assignment when empty).
  Result<PartitionOffsets> committed(std::chrono::milliseconds timeout,
                                     const PartitionOffsets& partitions = {}) const;
  Status seek(const PartitionOffsets& offsets, std::chrono::milliseconds timeout);
  // After an aborted transaction: seek every assigned partition back to its committed offset (or
  // the start).
  Status rewind_to_committed(std::chrono::milliseconds timeout);
  // Synchronous offset commit, for the at-least-once mode (after the outputs were delivered).
  Status commit(const PartitionOffsets& offsets);

  // Backpressure: stop fetching while the producer queue is full. Empty: the whole current
  // assignment.
  Status pause(const PartitionOffsets& partitions = {});
  Status resume(const PartitionOffsets& partitions = {});

  // For Producer::send_offsets_to_transaction; reflects the group generation at the time of the
  // call.
  GroupMetadataPtr group_metadata() const;
  // Low/high watermarks as last fetched (no broker round trip); for consumer-lag metrics.
  Result<std::pair<int64_t, int64_t>> cached_watermarks(const std::string& topic,
                                                        int32_t partition) const;

  // librdkafka 2.0 parks a partition's fetcher once the prefetch queue reaches
  // queued.max.messages.kbytes or queued.min.messages, and looks again only when its broker thread
  // wakes up: up to a second later (2.2 added fetch.queue.backoff.ms to bound that). At saturation
  // the queue is drained long before, so the consumer idles for most of every second. A watermark
  // query is a request on that broker's thread, which wakes it and lets the fetcher resume at
  // once. Call when poll() came back empty although records are known to be waiting; it queries
  // every assigned partition whose cached high watermark is past its position (one round trip
  // each, at most `timeout`) and returns how many there were (0: nothing was waiting).
  Result<std::size_t> wake_parked_fetchers(std::chrono::milliseconds timeout);

  // Leaves the group: the rebalance hook sees Revoked for the assignment. Idempotent.
  Status close();

  rd_kafka_t* get() const { return rk_.get(); }

  struct State;  // opaque: what librdkafka's callbacks reach

 private:
  Consumer(std::unique_ptr<State> state, ClientPtr rk);
  void release() noexcept;
  // `partitions`, or the current assignment when it is empty.
  Result<PartitionOffsets> or_assignment(const PartitionOffsets& partitions) const;
  Status set_paused(const PartitionOffsets& partitions, bool paused);

  std::unique_ptr<State> state_;  // declared before rk_: callbacks may run while rk_ is destroyed
  ClientPtr rk_;
};

}  // namespace patchstream::kafka
