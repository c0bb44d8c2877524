// FlagStore on Kafka: a compacted flags topic every instance reads and follows, plus an audit
// topic.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "flags/flag_store.h"
#include "kafka/config.h"

namespace patchstream::flags {

// Problems the store meets off the caller's thread (follower, librdkafka) or skips (an unreadable
// record). Called from the store's and librdkafka's threads: must be thread-safe. Empty: stderr.
using StoreErrorCallback = std::function<void(std::string_view message)>;

struct KafkaFlagStoreConfig {
  // Connection and security settings (bootstrap.servers, security.*, sasl.*, ssl.*, client.id,
  // socket.*, ...). Role settings meant for the processor's own clients (group.id, acks,
  // transactional.id, fetch tuning) are ignored: the store sets its own.
  kafka::KafkaConfig kafka;
  std::string flags_topic;  // compacted; key = flag name, value = current definition (flag_json)
  std::string audit_topic;  // append-only; key = flag name, value = audit record (flag_json)
  StoreErrorCallback on_error;
  // Bounds load()'s catch-up, append()'s catch-up and delivery, and history()'s read.
  std::chrono::milliseconds timeout{10'000};
  // fetch.wait.max.ms of the follower: how long the broker holds a fetch with no new data, so
  // about the propagation time added on top of the write.
  std::chrono::milliseconds fetch_wait{20};
  // Topics missing at load() are created (flags compacted, audit kept forever: retention.ms=-1).
  bool create_topics = true;
  int replication_factor = -1;  // for created topics; -1: the broker's default.replication.factor
  // librdkafka's assign() and consumer poll need a group.id. The group is never joined and nothing
  // is committed (so instances never split partitions), but clusters with ACLs must let the
  // store's principal describe it.
  std::string reader_group = "patchstream-flag-store-reader";
  // Writes of flag F go through transactional id <prefix><flags_topic>/F, shared by all instances
  // (clusters with ACLs: allow Write on transactional ids with this prefix).
  std::string writer_id_prefix = "patchstream-flags/";
};

// load() creates missing topics, reads the flags topic up to the high watermark of every partition
// (the last record per key wins) and then follows it on a background thread: a consumer assigned
// to every partition, outside any consumer group and without offset commits, so every instance
// sees every change. Each definition read after load() (this instance's own writes included) goes
// to the on_external_change listener from a separate dispatch thread, so a listener that takes the
// catalog's lock never holds up the follower, and append() (which runs under that lock) can wait
// for the follower without deadlock. A listener set after load() first gets every current
// definition, so nothing read between load() and registration is missed.
//
// append() writes through a transactional id shared by every instance for that flag, so starting
// a write fences another instance's unfinished write of the same flag. It then catches the
// follower up to the flags topic's end and refuses the record (error starting with
// kRevisionConflict) when the topic already holds that revision of the flag or a newer one.
// Otherwise it commits the audit record and the definition in one transaction (acks=all) before
// returning. docs/KAFKA-FLAG-STORE.md has the details and what remains.
class KafkaFlagStore final : public FlagStore {
 public:
  // Checks the settings (throws std::invalid_argument); the clients are made by load() and
  // append().
  explicit KafkaFlagStore(KafkaFlagStoreConfig config);
  ~KafkaFlagStore() override;
  KafkaFlagStore(const KafkaFlagStore&) = delete;
  KafkaFlagStore& operator=(const KafkaFlagStore&) = delete;

  // Throws std::runtime_error when the topics cannot be created or read to their end in time.
  std::vector<FlagDefinition> load() override;
  std::optional<std::string> append(const AuditRecord& record) override;
  // Reads the audit topic from the beginning to its current end (on demand, bounded by timeout);
  // ordered by revision. Read errors are reported and what was read is returned.
  std::vector<AuditRecord> history(std::string_view flag) const override;
  void on_external_change(std::function<void(const FlagDefinition&)> listener) override;

  // Flags-topic records the follower has applied since load() (tests, diagnostics).
  std::uint64_t followed_records() const;

  struct State;  // opaque: clients, follower and dispatcher threads

 private:
  std::unique_ptr<State> state_;
};

// The factory the processor uses; the returned store still needs load() (FlagCatalog calls it).
std::unique_ptr<FlagStore> make_kafka_flag_store(const kafka::KafkaConfig& config,
                                                 std::string flags_topic, std::string audit_topic,
                                                 StoreErrorCallback on_error = {});

}  // namespace patchstream::flags
