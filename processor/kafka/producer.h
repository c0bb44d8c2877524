// The producer: transactional (exactly-once loop) or idempotent (at-least-once mode), with delivery
// accounting.
#pragma once

#include "config.h"
#include "error.h"
#include "handles.h"
#include "records.h"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace patchstream::kafka {

// Counted by the delivery-report callback, which runs inside poll(), flush() and the transaction
// calls.
struct DeliveryStats {
  uint64_t delivered = 0;
  uint64_t failed = 0;
  std::optional<KafkaError> first_failure;
};

class Producer {
 public:
  // transactional.id identifies the instance across restarts: the same id fences a predecessor at
  // init. Forced: transactional.id, enable.idempotence=true. init_transactions() must follow before
  // begin.
  static Result<Producer> transactional(const KafkaConfig& config,
                                        const std::string& transactional_id,
                                        ClientHooks hooks = {});
  // Idempotent, non-transactional (at-least-once mode): forced enable.idempotence=true, no
  // transactional.id.
  static Result<Producer> idempotent(const KafkaConfig& config, ClientHooks hooks = {});

  Producer(Producer&&) noexcept;
  Producer& operator=(Producer&&) noexcept;
  ~Producer();  // destroys without flushing: flush or commit first

  // Transactions (KIP-98/447). Errors carry fatal / txn_requires_abort / retriable as librdkafka
  // classifies them.
  Status init_transactions(std::chrono::milliseconds timeout);
  Status begin_transaction();
  Status send_offsets_to_transaction(const PartitionOffsets& offsets,
                                     const rd_kafka_consumer_group_metadata_t* group,
                                     std::chrono::milliseconds timeout);
  Status commit_transaction(std::chrono::milliseconds timeout);
  // The consume-transform-produce commit: flush, then send_offsets_to_transaction, then commit.
  // librdkafka 2.0 sends AddOffsetsToTxn at once, while the transaction's AddPartitionsToTxn may
  // still be in flight (or waiting out the previous commit's markers); the coordinator refuses one
  // of the two with CONCURRENT_TRANSACTIONS and AddOffsetsToTxn is retried only after
  // retry.backoff.ms (100 ms). Once flushed, every partition is registered and the offsets go in
  // alone (KafkaBroker.CommitWithOffsetsDoesNotRacePartitionRegistration).
  Status commit_with_offsets(const PartitionOffsets& offsets,
                             const rd_kafka_consumer_group_metadata_t* group,
                             std::chrono::milliseconds timeout);
  Status abort_transaction(std::chrono::milliseconds timeout);

  // Enqueues a copy of key, value and headers. A key with data() == nullptr is a null key.
  // A full local queue gives an error with queue_full(): poll(), pause the consumer, retry; nothing
  // was enqueued.
  // A topic passed to load_topics() is produced to by its kept handle: no per-record lookup.
  Status produce(std::string_view topic, std::string_view key, std::string_view value,
                 std::span<const HeaderView> headers = {}, int32_t partition = kAnyPartition);
  // Serves delivery reports and client hooks; returns the number of events served.
  int poll(std::chrono::milliseconds timeout);
  // Waits until every enqueued record is delivered or failed (timed_out() when time ran out).
  Status flush(std::chrono::milliseconds timeout);
  // Records (and requests) not yet acknowledged by the broker.
  int queue_length() const;
  // Learns the topics' partitions and leaders now and keeps them known. Without it the first
  // record to a topic waits for a metadata round trip inside its transaction: about a second of
  // latency for every event in that transaction, once per topic after each start.
  Status load_topics(const std::vector<std::string>& topics, std::chrono::milliseconds timeout);

  const DeliveryStats& deliveries() const;
  void reset_deliveries();
  // The client's fatal error, if one occurred: the instance must be recreated (or the process
  // restarted).
  std::optional<KafkaError> fatal_error() const;
  bool is_transactional() const;

  rd_kafka_t* get() const { return rk_.get(); }

  struct State;  // opaque: what librdkafka's callbacks reach

 private:
  Producer(std::unique_ptr<State> state, ClientPtr rk);
  static Result<Producer> create(const KafkaConfig& config,
                                 std::initializer_list<RequiredSetting> required,
                                 bool transactional, ClientHooks hooks);

  std::unique_ptr<State>
      state_;  // declared before rk_: delivery reports may run while rk_ is destroyed
  ClientPtr rk_;
  std::vector<TopicPtr> topics_;  // after rk_: destroyed before the client
};

}  // namespace patchstream::kafka
