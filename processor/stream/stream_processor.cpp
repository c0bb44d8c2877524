// The Kafka loop. Exactly-once: outputs and input offsets commit in one transaction
// (send_offsets_to_transaction); an abortable error aborts and rewinds to the committed offsets.
#include "stream_processor.h"

#include <thread>

#include "kafka/consumer.h"
#include "kafka/producer.h"
#include "stream/fetch_waker.h"

namespace patchstream {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

StreamProcessor::StreamProcessor(StreamSettings settings, EventRouter& router, Logger& log,
                                 HealthState& health, StreamObserver observer)
    : settings_(std::move(settings)),
      router_(router),
      log_(log),
      health_(health),
      observer_(std::move(observer)) {}

struct StreamProcessor::Loop {
  StreamProcessor& p;
  std::optional<kafka::Producer> producer;
  std::optional<kafka::Consumer> consumer;
  bool txn_open = false;
  bool fatal = false;
  std::size_t pending = 0;  // events since the last commit
  Clock::time_point batch_started{};
  Clock::time_point last_broker_ok = Clock::now();

  void fail(const kafka::KafkaError& e, std::string_view during) {
    p.log_.error("fatal Kafka error: exiting so the supervisor restarts the instance",
                 {{"during", during}, {"error", e.to_string()}});
    fatal = true;
  }

  kafka::PartitionOffsets positions() {
    kafka::PartitionOffsets out;
    auto r = consumer->positions();
    if (!r.ok()) return out;
    for (auto& tp : r.value()) {
      if (tp.offset >= 0) out.push_back(std::move(tp));
    }
    return out;
  }

  void abort_and_rewind(const kafka::KafkaError& why, bool rewind) {
    p.log_.warn("aborting the transaction; input is rewound to the committed offsets",
                {{"error", why.to_string()}, {"events", pending}});
    if (txn_open) {
      auto s = producer->abort_transaction(30s);
      if (!s.ok() && s.error().fatal) return fail(s.error(), "abort_transaction");
    }
    txn_open = false;
    pending = 0;
    if (p.observer_.on_abort) p.observer_.on_abort();
    if (rewind) {
      auto s = consumer->rewind_to_committed(10s);
      if (!s.ok())
        p.log_.warn("rewind failed; the group will resume from committed offsets",
                    {{"error", s.error().to_string()}});
    }
  }

  // Exactly-once: offsets into the transaction, then commit. At-least-once: deliver, then commit.
  void commit(bool rewind_on_abort = true) {
    if (fatal || pending == 0) {
      if (txn_open && pending == 0 && !fatal) {
        // Nothing in it: end it so the next batch starts fresh.
        auto s = producer->commit_transaction(30s);
        if (!s.ok()) abort_and_rewind(s.error(), rewind_on_abort);
        txn_open = false;
      }
      return;
    }
    const auto started = Clock::now();
    const std::size_t events = pending;
    p.health_.commit_started_ms.store(HealthState::now_ms());
    struct CommitDone {
      HealthState& h;
      ~CommitDone() { h.commit_started_ms.store(0); }
    } done{p.health_};
    if (p.settings_.exactly_once) {
      const auto offsets = positions();
      auto group = consumer->group_metadata();
      for (int attempt = 0;; ++attempt) {
        auto s = producer->commit_with_offsets(offsets, group.get(), 60s);
        if (s.ok()) break;
        if (s.error().fatal) return fail(s.error(), "commit");
        if (s.error().txn_requires_abort || attempt >= 5)
          return abort_and_rewind(s.error(), rewind_on_abort);
        p.log_.warn("commit failed, retrying",
                    {{"error", s.error().to_string()}, {"attempt", attempt}});
        std::this_thread::sleep_for(100ms);
      }
      txn_open = false;
    } else {
      auto s = producer->flush(60s);
      if (!s.ok() || producer->deliveries().failed > 0) {
        const kafka::KafkaError why = !s.ok() ? s.error()
                                              : producer->deliveries().first_failure.value_or(
                                                    kafka::KafkaError::invalid("delivery failed"));
        producer->reset_deliveries();
        pending = 0;
        // Re-read from the last commit: duplicates, never losses (the at-least-once contract).
        if (rewind_on_abort) (void)consumer->rewind_to_committed(10s);
        p.log_.warn("delivery failed; re-reading from the committed offsets",
                    {{"error", why.to_string()}});
        return;
      }
      auto c = consumer->commit(positions());
      if (!c.ok())
        p.log_.warn("offset commit failed; events may be processed again",
                    {{"error", c.error().to_string()}});
    }
    pending = 0;
    p.health_.broker_answered();
    last_broker_ok = Clock::now();
    if (p.observer_.on_commit) p.observer_.on_commit(events, Clock::now() - started);
  }

  // Per assigned partition; one whose position or watermark is not known yet counts as 0.
  void partition_lags(std::vector<PartitionLag>& out) {
    out.clear();
    auto r = consumer->positions();
    if (!r.ok()) return;
    for (const auto& tp : r.value()) {
      auto w = consumer->cached_watermarks(tp.topic, tp.partition);
      const bool known = w.ok() && tp.offset >= 0 && w.value().second > tp.offset;
      out.push_back(
          {tp.partition, known ? static_cast<std::uint64_t>(w.value().second - tp.offset) : 0});
    }
  }

  bool begin() {
    if (!p.settings_.exactly_once || txn_open) return true;
    auto s = producer->begin_transaction();
    if (!s.ok()) {
      fail(s.error(), "begin_transaction");
      return false;
    }
    txn_open = true;
    batch_started = Clock::now();
    return true;
  }

  // Enqueues one output; a full producer queue stops consumption (we do not poll the consumer)
  // until deliveries make room, so in-flight memory stays within queue.buffering.max.kbytes.
  bool produce(const OutputRecord& out) {
    const std::string_view key = out.key ? *out.key : std::string_view();
    for (;;) {
      auto s = producer->produce(out.topic, key, out.value, out.headers);
      if (s.ok()) return true;
      if (s.error().queue_full()) {
        producer->poll(50ms);
        continue;
      }
      if (s.error().fatal) {
        fail(s.error(), "produce");
      } else {
        abort_and_rewind(s.error(), true);
      }
      return false;
    }
  }

  void on_rebalance(kafka::RebalanceKind kind, const kafka::PartitionOffsets& partitions) {
    switch (kind) {
      case kafka::RebalanceKind::Assigned:
        p.health_.assigned_partitions.store(static_cast<int>(partitions.size()));
        p.health_.broker_answered();
        p.log_.info("partitions assigned", {{"count", partitions.size()}});
        break;
      case kafka::RebalanceKind::Revoked:
        // Positions are still valid: finish the open batch so the next owner starts after it.
        commit(false);
        p.health_.assigned_partitions.store(0);
        p.log_.info("partitions revoked", {{"count", partitions.size()}});
        break;
      case kafka::RebalanceKind::Lost:
        if (txn_open || pending)
          abort_and_rewind(kafka::KafkaError::invalid("partitions lost"), false);
        p.health_.assigned_partitions.store(0);
        p.log_.warn("partitions lost", {{"count", partitions.size()}});
        break;
    }
  }
};

int StreamProcessor::run(const std::atomic<bool>& stop) {
  Loop loop{*this, std::nullopt, std::nullopt};
  kafka::ClientHooks hooks;
  hooks.on_error = [this](const kafka::KafkaError& e) {
    // librdkafka reports lost connectivity here; readiness follows it until a round trip succeeds.
    if (e.code == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN || e.code == RD_KAFKA_RESP_ERR__TRANSPORT ||
        e.code == RD_KAFKA_RESP_ERR__TIMED_OUT) {
      health_.broker_lost();
    }
    log_.warn("kafka client error", {{"error", e.to_string()}});
  };
  hooks.on_log = [this](int level, std::string_view facility, std::string_view message) {
    if (level <= 4) log_.warn("librdkafka", {{"facility", facility}, {"detail", message}});
    if (facility == "FAIL") health_.broker_lost();  // a broker connection failed
  };

  kafka::KafkaConfig producer_config = settings_.kafka;
  // Bound what can wait in memory for the broker; beyond it produce() reports a full queue.
  producer_config.try_emplace("queue.buffering.max.kbytes", "32768");
  producer_config.try_emplace("linger.ms", "5");
  auto producer = settings_.exactly_once ? kafka::Producer::transactional(
                                               producer_config, settings_.transactional_id, hooks)
                                         : kafka::Producer::idempotent(producer_config, hooks);
  if (!producer.ok()) {
    log_.error("cannot create the producer", {{"error", producer.error().to_string()}});
    return 1;
  }
  loop.producer.emplace(std::move(producer).value());
  if (settings_.exactly_once) {
    for (;;) {
      auto s = loop.producer->init_transactions(5s);
      if (s.ok()) break;
      if (stop.load()) return 0;  // asked to stop before anything was consumed
      if (s.error().fatal || !(s.error().retriable || s.error().timed_out())) {
        log_.error("init_transactions failed", {{"error", s.error().to_string()}});
        return 1;
      }
      log_.warn("init_transactions: broker not ready, retrying",
                {{"error", s.error().to_string()}});
    }
  }
  if (auto s = loop.producer->load_topics(settings_.output_topics, 2s); !s.ok()) {
    // Not fatal: the topic may be created later; until then its records wait in the producer.
    log_.warn("an output topic is not available yet", {{"error", s.error().to_string()}});
  }
  health_.broker_answered();

  kafka::ConsumerSettings cs;
  cs.config = settings_.kafka;
  cs.config.try_emplace("queued.max.messages.kbytes", "16384");  // bounded prefetch
  cs.group_id = settings_.group_id;
  cs.hooks = hooks;
  cs.on_rebalance = [&loop](kafka::RebalanceKind kind, const kafka::PartitionOffsets& parts) {
    loop.on_rebalance(kind, parts);
  };
  auto consumer = kafka::Consumer::create(std::move(cs));
  if (!consumer.ok()) {
    log_.error("cannot create the consumer", {{"error", consumer.error().to_string()}});
    return 1;
  }
  loop.consumer.emplace(std::move(consumer).value());
  if (auto s = loop.consumer->subscribe({settings_.input_topic}); !s.ok()) {
    log_.error("cannot subscribe",
               {{"topic", settings_.input_topic}, {"error", s.error().to_string()}});
    return 1;
  }
  log_.info("processing",
            {{"topic", settings_.input_topic},
             {"group", settings_.group_id},
             {"delivery", settings_.exactly_once ? "exactly-once" : "at-least-once"}});

  FetchWaker waker;
  auto last_tick = Clock::now();
  auto last_lag = Clock::now();
  std::vector<PartitionLag> lag;
  // Periodic records join the current transaction, so they commit with the events around them.
  const Emit emit = [&loop](std::string_view topic, std::string_view key, std::string_view value,
                            std::span<const kafka::HeaderView> headers) {
    if (loop.fatal || !loop.begin()) return;
    OutputRecord record;
    record.topic = topic;
    record.key = key;
    record.value = value;
    record.headers = headers;
    if (loop.produce(record)) ++loop.pending;
  };
  while (!stop.load(std::memory_order_relaxed) && !loop.fatal) {
    auto polled = loop.consumer->poll(20ms);
    if (!polled.ok()) {
      if (polled.error().fatal) {
        loop.fail(polled.error(), "poll");
        break;
      }
      log_.warn("consumer error", {{"error", polled.error().to_string()}});
    } else if (!polled.value()) {
      // Nothing within the poll timeout: either caught up, or librdkafka parked the fetcher
      // (see FetchWaker); a backlog after a pause or outage would otherwise be drained at a
      // fraction of the possible rate.
      if (const auto now = Clock::now(); waker.due(now)) {
        auto waiting = loop.consumer->wake_parked_fetchers(100ms);
        waker.woke(waiting.ok() ? waiting.value() : 1, now);
        if (waiting.ok() && waiting.value() > 0 && observer_.on_fetcher_wake)
          observer_.on_fetcher_wake(waiting.value());
      }
    } else if (auto& message = polled.value()) {
      waker.message_arrived();
      health_.broker_answered();
      loop.last_broker_ok = Clock::now();
      if (loop.pending == 0) loop.batch_started = Clock::now();
      if (!loop.begin()) break;
      const auto headers = message->headers();
      InputEvent in{
          message->topic(),  message->partition(),
          message->offset(), message->has_key() ? std::optional(message->key()) : std::nullopt,
          message->value(),  headers};
      const OutputRecord& out = router_.route(in);
      if (!loop.produce(out)) continue;
      ++loop.pending;
      health_.events_total.fetch_add(1, std::memory_order_relaxed);
      if (observer_.on_output) observer_.on_output(out);
    }
    if (loop.pending > 0 && (loop.pending >= settings_.commit_every_events ||
                             Clock::now() - loop.batch_started >= settings_.commit_every)) {
      loop.commit();
    }
    loop.producer->poll(0ms);
    if (Clock::now() - last_tick >= 100ms) {
      last_tick = Clock::now();
      // Readiness needs evidence: without a successful commit or message for a second, ask the
      // group coordinator (one small round trip; it only blocks while the broker is away).
      if (Clock::now() - loop.last_broker_ok >= 1s) {
        if (loop.consumer->committed(500ms).ok()) {
          health_.broker_answered();
          loop.last_broker_ok = Clock::now();
        } else {
          health_.broker_lost();
        }
      }
      if (Clock::now() - last_lag >= 1s) {
        last_lag = Clock::now();
        loop.partition_lags(lag);
      }
      if (observer_.on_tick) {
        const double age =
            loop.txn_open ? std::chrono::duration<double>(Clock::now() - loop.batch_started).count()
                          : 0.0;
        observer_.on_tick(emit, lag, loop.pending, age);
      }
    }
  }

  health_.running.store(false);
  if (loop.fatal) return 1;
  log_.info("shutting down: committing the open batch and leaving the group");
  loop.commit();
  if (auto s = loop.consumer->close(); !s.ok())
    log_.warn("consumer close", {{"error", s.error().to_string()}});
  (void)loop.producer->flush(settings_.shutdown_timeout);
  log_.info("stopped", {{"events", health_.events_total.load()}});
  return loop.fatal ? 1 : 0;
}

}  // namespace patchstream
