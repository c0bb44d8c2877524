// Kafka FlagStore: read the flags topic to its end, follow it, dispatch changes, checked durable
// writes.
#include "flag_store_kafka/kafka_flag_store.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <iostream>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "flags/flag_json.h"
#include "kafka/admin.h"
#include "kafka/consumer.h"
#include "kafka/producer.h"
#include "kafka/records.h"

namespace patchstream::flags {
namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

// How long the follower blocks in one poll: the bound on noticing stop, not on propagation (a
// record wakes the poll at once).
constexpr auto kPollInterval = 100ms;
// The same follower error is reported at most this often (a broker outage repeats it every poll).
constexpr auto kRepeatedErrorInterval = 10s;

int to_ms(std::chrono::milliseconds t) {
  return static_cast<int>(t.count());
}

// Settings about reaching and trusting the cluster, as opposed to tuning one client's role: the
// processor's group.id, acks or fetch sizes must not leak into the store's clients.
bool is_connection_setting(std::string_view key) {
  for (std::string_view prefix : {"bootstrap.servers",
                                  "metadata.broker.list",
                                  "security.protocol",
                                  "sasl.",
                                  "ssl.",
                                  "ssl_",
                                  "enable.ssl",
                                  "client.id",
                                  "client.rack",
                                  "client.dns.lookup",
                                  "socket.",
                                  "broker.",
                                  "api.version",
                                  "reconnect.backoff",
                                  "retry.backoff",
                                  "connections.max.idle.ms",
                                  "topic.metadata.refresh",
                                  "metadata.max.age.ms",
                                  "resolve.canonical",
                                  "debug",
                                  "log_level",
                                  "log.connection.close"}) {
    if (key.starts_with(prefix)) return true;
  }
  return false;
}

kafka::KafkaConfig connection_settings(const kafka::KafkaConfig& config) {
  kafka::KafkaConfig out;
  for (const auto& [key, value] : config) {
    if (is_connection_setting(key)) out.emplace(key, value);
  }
  const auto id = out.find("client.id");
  out["client.id"] = (id != out.end() ? id->second : std::string("patchstream")) + "-flags";
  return out;
}

using TopicPtr =
    std::unique_ptr<rd_kafka_topic_t, kafka::RdDeleter<rd_kafka_topic_t, rd_kafka_topic_destroy>>;

// Looks `topic` up in the cluster metadata through `rk`, so that its leader is known before the
// first produce or assign: otherwise librdkafka finds it on its own retry timers, which costs
// 0.5-2 s on the first write and on every fresh reader. The handle keeps the topic known.
kafka::Result<TopicPtr> known_topic(rd_kafka_t* rk, const std::string& topic,
                                    std::chrono::milliseconds timeout) {
  TopicPtr handle(rd_kafka_topic_new(rk, topic.c_str(), nullptr));
  if (!handle) {
    return kafka::KafkaError::from_code(rd_kafka_last_error(), "topic " + topic, rk);
  }
  const rd_kafka_metadata_t* raw = nullptr;
  const auto err = rd_kafka_metadata(rk, 0, handle.get(), &raw, to_ms(timeout));
  kafka::MetadataPtr metadata(raw);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return kafka::KafkaError::from_code(err, "metadata of " + topic, rk);
  }
  return handle;
}

// One poll's outcome: a record, the end of a partition, or nothing within the timeout.
struct Polled {
  std::optional<kafka::Message> message;
  int32_t end_partition = -1;  // >= 0: that partition was read up to end_offset
  int64_t end_offset = 0;
};

// Reads every partition of one topic from the beginning, outside any consumer group. librdkafka
// wants a group.id for assign() and consumer_poll(), but the group is never joined and nothing is
// committed, so instances sharing the id do not split the partitions between them.
class TopicReader {
 public:
  static kafka::Result<TopicReader> open(kafka::KafkaConfig settings, const std::string& group,
                                         const std::string& topic, int partitions,
                                         kafka::ClientHooks hooks) {
    settings["enable.partition.eof"] = "true";  // the end offset tells when a read is complete
    auto consumer = kafka::Consumer::create({std::move(settings), group, {}, std::move(hooks)});
    if (!consumer) return consumer.error();
    auto known = known_topic(consumer->get(), topic, 10s);
    if (!known) return known.error();
    kafka::PartitionOffsets start;
    for (int32_t p = 0; p < partitions; ++p)
      start.push_back({topic, p, RD_KAFKA_OFFSET_BEGINNING});
    const auto err = rd_kafka_assign(consumer->get(), kafka::to_partition_list(start).get());
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return kafka::KafkaError::from_code(err, "assigning " + topic, consumer->get());
    }
    return TopicReader(std::move(consumer).value());
  }

  kafka::Result<Polled> poll(std::chrono::milliseconds timeout) {
    kafka::MessagePtr message(rd_kafka_consumer_poll(consumer_.get(), to_ms(timeout)));
    Polled polled;
    if (!message) return polled;
    if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      polled.message.emplace(std::move(message));
    } else if (message->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      polled.end_partition = message->partition;
      polled.end_offset = message->offset;
    } else {
      return kafka::KafkaError::from_code(
          message->err, std::string("consume: ") + rd_kafka_message_errstr(message.get()),
          consumer_.get());
    }
    return polled;
  }

  // Where a read_committed reader ends in each partition (the last stable offset). Retried until
  // `timeout`: right after a topic is created its leader may not serve offsets yet.
  kafka::Result<std::vector<int64_t>> high_watermarks(const std::string& topic, int partitions,
                                                      std::chrono::milliseconds timeout) const {
    const auto deadline = SteadyClock::now() + timeout;
    std::vector<int64_t> highs;
    for (int32_t p = 0; p < partitions;) {
      int64_t low = 0;
      int64_t high = 0;
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
      const auto err = rd_kafka_query_watermark_offsets(consumer_.get(), topic.c_str(), p, &low,
                                                        &high, to_ms(std::max(left, 100ms)));
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        highs.push_back(high);
        ++p;
      } else if (SteadyClock::now() >= deadline) {
        return kafka::KafkaError::from_code(
            err, "high watermark of " + topic + "[" + std::to_string(p) + "]", consumer_.get());
      } else {
        std::this_thread::sleep_for(50ms);
      }
    }
    return highs;
  }

 private:
  explicit TopicReader(kafka::Consumer consumer) : consumer_(std::move(consumer)) {}
  kafka::Consumer consumer_;
};

bool reached(const std::vector<int64_t>& positions, const std::vector<int64_t>& highs) {
  for (std::size_t p = 0; p < highs.size(); ++p) {
    if (positions[p] < highs[p]) return false;
  }
  return true;
}

std::string where(const kafka::Message& message) {
  return std::string(message.topic()) + "[" + std::to_string(message.partition()) + "]@" +
         std::to_string(message.offset());
}

}  // namespace

struct KafkaFlagStore::State {
  KafkaFlagStoreConfig config;
  kafka::KafkaConfig settings;  // connection settings only
  kafka::ClientHooks hooks;

  std::mutex append_mutex;  // one append at a time

  // The follower. `current`, `positions`, `followed` are guarded by `mutex`.
  std::optional<TopicReader> follower;
  int flag_partitions = 0;
  int audit_partitions = 0;
  std::atomic<bool> loaded{false};
  mutable std::mutex mutex;
  std::condition_variable advanced;  // positions moved
  std::map<std::string, FlagDefinition, std::less<>> current;
  std::vector<int64_t> positions;  // next offset per flags partition
  std::uint64_t followed = 0;
  std::atomic<bool> stopping{false};
  std::thread follower_thread;
  std::string last_follower_error;
  SteadyClock::time_point last_follower_error_at;

  // Dispatch to the listener. Lock order: mutex, then queue_mutex.
  std::mutex queue_mutex;
  std::condition_variable queue_ready;
  std::deque<FlagDefinition> queue;
  bool dispatch_stopping = false;
  std::mutex listener_mutex;  // held while the listener runs, so replacing it waits for that
  std::function<void(const FlagDefinition&)> listener;
  std::thread dispatch_thread;

  explicit State(KafkaFlagStoreConfig c) : config(std::move(c)) {
    settings = connection_settings(config.kafka);
    hooks.on_error = [this](const kafka::KafkaError& error) {
      report("kafka client: " + error.to_string());
    };
    // Warnings and worse; everything when the operator asked for librdkafka's debug output.
    const int max_level = settings.contains("debug") ? 7 : 4;
    hooks.on_log = [this, max_level](int level, std::string_view facility,
                                     std::string_view message) {
      if (level <= max_level) {
        report("librdkafka " + std::string(facility) + ": " + std::string(message));
      }
    };
  }

  void report(std::string_view message) const {
    if (config.on_error) {
      config.on_error(message);
    } else {
      std::cerr << "patchstream flags (kafka): " << message << "\n";
    }
  }

  // Every instance writes a flag through the same transactional id, so starting a write fences
  // (aborts) another instance's unfinished write of that flag, and of two overlapping writes at
  // most one commits.
  kafka::Result<kafka::Producer> make_writer(std::string_view flag) const {
    kafka::KafkaConfig writer_settings = settings;
    writer_settings["acks"] = "all";
    writer_settings["linger.ms"] = "0";  // two records, then the commit: send them now
    writer_settings["message.timeout.ms"] = std::to_string(config.timeout.count());
    // How long an instance that dies mid-write can hold back every follower (read_committed).
    writer_settings["transaction.timeout.ms"] = std::to_string((config.timeout + 5s).count());
    return kafka::Producer::transactional(
        writer_settings, config.writer_id_prefix + config.flags_topic + "/" + std::string(flag),
        hooks);
  }

  kafka::Result<TopicReader> open_reader(const std::string& topic, int partitions) const {
    kafka::KafkaConfig reader_settings = settings;
    reader_settings["fetch.wait.max.ms"] = std::to_string(config.fetch_wait.count());
    reader_settings["fetch.error.backoff.ms"] = "100";
    return TopicReader::open(std::move(reader_settings), config.reader_group, topic, partitions,
                             hooks);
  }

  // Applies one flags-topic record to `current` (the last record per key wins) and, when
  // following, queues it for the listener.
  void apply(const kafka::Message& message, bool following) {
    std::optional<FlagDefinition> definition;
    const std::string key(message.key());
    if (!message.has_key()) {
      report("skipping flags record without a key at " + where(message));
    } else if (message.get()->payload == nullptr) {
      // A tombstone (an operator deleting a flag by hand): forgotten at the next load; a running
      // catalog keeps the flag, since it has no deletion.
      std::lock_guard lock(mutex);
      current.erase(key);
    } else {
      auto json = nlohmann::json::parse(message.value(), nullptr, false);
      auto parsed = json.is_discarded()
                        ? std::variant<FlagDefinition, FieldError>(FieldError{"", "not JSON"})
                        : definition_from_json(json);
      if (auto* error = std::get_if<FieldError>(&parsed)) {
        report("skipping flags record at " + where(message) + ": " + error->field + " " +
               error->message);
      } else if (std::get<FlagDefinition>(parsed).name != key) {
        report("skipping flags record at " + where(message) + ": key '" + key +
               "' differs from the flag name");
      } else {
        definition = std::get<FlagDefinition>(std::move(parsed));
      }
    }
    std::lock_guard lock(mutex);
    auto& position = positions.at(static_cast<std::size_t>(message.partition()));
    position = std::max(position, message.offset() + 1);
    if (definition) {
      current[key] = *definition;
      if (following) {
        ++followed;
        std::lock_guard queue_lock(queue_mutex);
        queue.push_back(std::move(*definition));
        queue_ready.notify_one();
      }
    }
    advanced.notify_all();
  }

  void reached_end(int32_t partition, int64_t offset) {
    if (partition < 0 || partition >= flag_partitions) return;
    std::lock_guard lock(mutex);
    auto& position = positions[static_cast<std::size_t>(partition)];
    position = std::max(position, offset);
    advanced.notify_all();
  }

  void report_follower_error(const std::string& message) {
    const auto now = SteadyClock::now();
    if (message == last_follower_error && now - last_follower_error_at < kRepeatedErrorInterval) {
      return;
    }
    last_follower_error = message;
    last_follower_error_at = now;
    report("following " + config.flags_topic + ": " + message);
  }

  void follow() {
    while (!stopping.load(std::memory_order_relaxed)) {
      auto polled = follower->poll(kPollInterval);
      if (!polled) {
        report_follower_error(polled.error().to_string());
        std::this_thread::sleep_for(kPollInterval);
      } else if (polled->message) {
        apply(*polled->message, true);
      } else if (polled->end_partition >= 0) {
        reached_end(polled->end_partition, polled->end_offset);
      }
    }
  }

  void dispatch() {
    std::unique_lock lock(queue_mutex);
    for (;;) {
      queue_ready.wait(lock, [&] { return dispatch_stopping || !queue.empty(); });
      if (dispatch_stopping) return;
      FlagDefinition definition = std::move(queue.front());
      queue.pop_front();
      lock.unlock();
      {
        std::lock_guard listener_lock(listener_mutex);
        if (listener) listener(definition);
      }
      lock.lock();
    }
  }

  // Waits until the follower has read everything written to the flags topic before now.
  std::optional<std::string> catch_up() {
    auto highs = follower->high_watermarks(config.flags_topic, flag_partitions, config.timeout);
    if (!highs)
      return "cannot read the end of " + config.flags_topic + ": " + highs.error().to_string();
    std::unique_lock lock(mutex);
    if (!advanced.wait_for(lock, config.timeout,
                           [&] { return reached(positions, highs.value()); })) {
      return "the follower of " + config.flags_topic + " did not reach its end within " +
             std::to_string(config.timeout.count()) + " ms";
    }
    return std::nullopt;
  }
};

KafkaFlagStore::KafkaFlagStore(KafkaFlagStoreConfig config)
    : state_(std::make_unique<State>(std::move(config))) {
  auto& s = *state_;
  if (s.config.flags_topic.empty() || s.config.audit_topic.empty()) {
    throw std::invalid_argument("the Kafka flag store needs a flags topic and an audit topic");
  }
  if (s.config.flags_topic == s.config.audit_topic) {
    throw std::invalid_argument("the flags topic and the flag audit topic must differ");
  }
  if (!s.settings.contains("bootstrap.servers") && !s.settings.contains("metadata.broker.list")) {
    throw std::invalid_argument("the Kafka flag store needs kafka.bootstrap.servers");
  }
  if (s.config.writer_id_prefix.empty() || s.config.reader_group.empty()) {
    throw std::invalid_argument("the Kafka flag store needs a writer id prefix and a reader group");
  }
}

KafkaFlagStore::~KafkaFlagStore() {
  auto& s = *state_;
  s.stopping = true;
  if (s.follower_thread.joinable()) s.follower_thread.join();
  {
    std::lock_guard lock(s.queue_mutex);
    s.dispatch_stopping = true;
  }
  s.queue_ready.notify_all();
  if (s.dispatch_thread.joinable()) s.dispatch_thread.join();
}

std::vector<FlagDefinition> KafkaFlagStore::load() {
  auto& s = *state_;
  if (s.loaded) throw std::logic_error("KafkaFlagStore::load() called twice");
  const auto fail = [&](const std::string& what, const kafka::KafkaError& error) {
    throw std::runtime_error("Kafka flag store: " + what + ": " + error.to_string());
  };

  auto admin = kafka::Admin::create(s.settings, s.hooks);
  if (!admin) fail("admin client", admin.error());
  if (s.config.create_topics) {
    kafka::TopicSpec flags_spec{
        s.config.flags_topic, 1, s.config.replication_factor, {{"cleanup.policy", "compact"}}};
    kafka::TopicSpec audit_spec{s.config.audit_topic,
                                1,
                                s.config.replication_factor,
                                {{"cleanup.policy", "delete"}, {"retention.ms", "-1"}}};
    const std::array specs{flags_spec, audit_spec};
    if (auto created = admin->create_topics(specs, s.config.timeout); !created) {
      fail("creating topics", created.error());
    }
  }
  auto flag_partitions = admin->partition_count(s.config.flags_topic, s.config.timeout);
  if (!flag_partitions) fail("topic " + s.config.flags_topic, flag_partitions.error());
  auto audit_partitions = admin->partition_count(s.config.audit_topic, s.config.timeout);
  if (!audit_partitions) fail("topic " + s.config.audit_topic, audit_partitions.error());
  s.flag_partitions = flag_partitions.value();
  s.audit_partitions = audit_partitions.value();
  s.positions.assign(static_cast<std::size_t>(s.flag_partitions), 0);

  auto reader = s.open_reader(s.config.flags_topic, s.flag_partitions);
  if (!reader) fail("reader of " + s.config.flags_topic, reader.error());
  s.follower.emplace(std::move(reader).value());
  auto highs =
      s.follower->high_watermarks(s.config.flags_topic, s.flag_partitions, s.config.timeout);
  if (!highs) fail("end of " + s.config.flags_topic, highs.error());

  const auto deadline = SteadyClock::now() + s.config.timeout;
  for (;;) {
    {
      std::lock_guard lock(s.mutex);
      if (reached(s.positions, highs.value())) break;
    }
    if (SteadyClock::now() > deadline) {
      throw std::runtime_error("Kafka flag store: " + s.config.flags_topic +
                               " not read to its end within " +
                               std::to_string(s.config.timeout.count()) + " ms");
    }
    auto polled = s.follower->poll(kPollInterval);
    if (!polled) fail("reading " + s.config.flags_topic, polled.error());
    if (polled->message) {
      s.apply(*polled->message, false);
    } else if (polled->end_partition >= 0) {
      s.reached_end(polled->end_partition, polled->end_offset);
    }
  }

  std::vector<FlagDefinition> flags;
  {
    std::lock_guard lock(s.mutex);
    for (const auto& [name, flag] : s.current)
      flags.push_back(flag);
  }
  s.loaded = true;
  s.dispatch_thread = std::thread([&s] { s.dispatch(); });
  s.follower_thread = std::thread([&s] { s.follow(); });
  return flags;
}

std::optional<std::string> KafkaFlagStore::append(const AuditRecord& record) {
  auto& s = *state_;
  if (!s.loaded) return "the Kafka flag store is not loaded";
  std::lock_guard append_lock(s.append_mutex);
  const auto not_stored = [](const kafka::KafkaError& error) {
    return "flag change not stored: " + error.to_string();
  };
  auto writer = s.make_writer(record.flag);
  if (!writer) return not_stored(writer.error());
  // From here to the commit, another instance starting a write of this flag fences this one.
  if (auto init = writer->init_transactions(s.config.timeout); !init)
    return not_stored(init.error());
  std::vector<TopicPtr> known;  // before the first produce; released before `writer`
  for (const auto* topic : {&s.config.audit_topic, &s.config.flags_topic}) {
    auto handle = known_topic(writer->get(), *topic, s.config.timeout);
    if (!handle) return not_stored(handle.error());
    known.push_back(std::move(handle).value());
  }
  if (auto error = s.catch_up()) return error;
  {
    std::lock_guard lock(s.mutex);
    auto stored = s.current.find(record.flag);
    if (stored != s.current.end() && stored->second.revision >= record.revision) {
      return std::string(kRevisionConflict) + "flag '" + record.flag + "' is at revision " +
             std::to_string(stored->second.revision) + " in " + s.config.flags_topic +
             " (changed by another instance, by " + stored->second.updated_by + " at " +
             stored->second.updated_at + "); this change would make revision " +
             std::to_string(record.revision);
    }
  }
  // The audit record and the definition commit together or not at all.
  if (auto begun = writer->begin_transaction(); !begun) return not_stored(begun.error());
  auto produced = writer->produce(s.config.audit_topic, record.flag, to_json(record).dump());
  if (produced) {
    produced = writer->produce(s.config.flags_topic, record.flag, to_json(record.after).dump());
  }
  auto committed = produced ? writer->commit_transaction(s.config.timeout + 2s) : produced;
  if (committed) return std::nullopt;
  const auto& error = committed.error();
  if (!error.fatal) (void)writer->abort_transaction(s.config.timeout);
  if (error.code == RD_KAFKA_RESP_ERR__FENCED || error.code == RD_KAFKA_RESP_ERR_PRODUCER_FENCED ||
      error.code == RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH) {
    return std::string(kRevisionConflict) + "another instance wrote flag '" + record.flag +
           "' at the same time; this change was not stored";
  }
  return not_stored(error) +
         (error.timed_out() ? " (not confirmed in time; it may still land)" : "");
}

std::vector<AuditRecord> KafkaFlagStore::history(std::string_view flag) const {
  const auto& s = *state_;
  std::vector<AuditRecord> records;
  if (!s.loaded) {
    s.report("history() before load()");
    return records;
  }
  auto reader = s.open_reader(s.config.audit_topic, s.audit_partitions);
  if (!reader) {
    s.report("reading " + s.config.audit_topic + ": " + reader.error().to_string());
    return records;
  }
  auto highs = reader->high_watermarks(s.config.audit_topic, s.audit_partitions, s.config.timeout);
  if (!highs) {
    s.report("reading " + s.config.audit_topic + ": " + highs.error().to_string());
    return records;
  }
  std::vector<int64_t> positions(highs->size(), 0);
  const auto deadline = SteadyClock::now() + s.config.timeout;
  while (!reached(positions, highs.value())) {
    if (SteadyClock::now() > deadline) {
      s.report("history of '" + std::string(flag) + "': " + s.config.audit_topic +
               " not read to its end within " + std::to_string(s.config.timeout.count()) +
               " ms; the answer is incomplete");
      break;
    }
    auto polled = reader->poll(kPollInterval);
    if (!polled) {
      s.report("reading " + s.config.audit_topic + ": " + polled.error().to_string());
      continue;
    }
    if (polled->end_partition >= 0 && polled->end_partition < s.audit_partitions) {
      auto& position = positions[static_cast<std::size_t>(polled->end_partition)];
      position = std::max(position, polled->end_offset);
      continue;
    }
    if (!polled->message) continue;
    const kafka::Message& message = *polled->message;
    auto& position = positions.at(static_cast<std::size_t>(message.partition()));
    position = std::max(position, message.offset() + 1);
    if (!message.has_key() || message.key() != flag) continue;
    auto json = nlohmann::json::parse(message.value(), nullptr, false);
    auto parsed = json.is_discarded()
                      ? std::variant<AuditRecord, FieldError>(FieldError{"", "not JSON"})
                      : audit_record_from_json(json);
    if (auto* error = std::get_if<FieldError>(&parsed)) {
      s.report("skipping audit record at " + where(message) + ": " + error->field + " " +
               error->message);
      continue;
    }
    records.push_back(std::get<AuditRecord>(std::move(parsed)));
  }
  std::stable_sort(records.begin(), records.end(), [](const AuditRecord& a, const AuditRecord& b) {
    return a.revision < b.revision;
  });
  return records;
}

void KafkaFlagStore::on_external_change(std::function<void(const FlagDefinition&)> listener) {
  auto& s = *state_;
  const bool replay = static_cast<bool>(listener);
  {
    std::lock_guard listener_lock(s.listener_mutex);
    s.listener = std::move(listener);
  }
  if (!replay) return;
  // Whatever the follower read before the listener was set reaches it now; in the queue after
  // anything already queued, and under `mutex`, so no older definition can follow it.
  std::lock_guard lock(s.mutex);
  std::lock_guard queue_lock(s.queue_mutex);
  for (const auto& [name, flag] : s.current)
    s.queue.push_back(flag);
  s.queue_ready.notify_one();
}

std::uint64_t KafkaFlagStore::followed_records() const {
  std::lock_guard lock(state_->mutex);
  return state_->followed;
}

std::unique_ptr<FlagStore> make_kafka_flag_store(const kafka::KafkaConfig& config,
                                                 std::string flags_topic, std::string audit_topic,
                                                 StoreErrorCallback on_error) {
  KafkaFlagStoreConfig store_config;
  store_config.kafka = config;
  store_config.flags_topic = std::move(flags_topic);
  store_config.audit_topic = std::move(audit_topic);
  store_config.on_error = std::move(on_error);
  return std::make_unique<KafkaFlagStore>(std::move(store_config));
}

}  // namespace patchstream::flags
