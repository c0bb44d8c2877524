// The router loop: poll, fill a batch, hand it over when full or lingering, commit what came back.
#include "alert_router/alert_router.h"

#include <algorithm>
#include <deque>
#include <set>

#include "kafka/consumer.h"

namespace patchstream::alert_router {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

}  // namespace

AlertRouter::AlertRouter(AlertRouterSettings settings, DeliveryWorker& worker,
                         RouterMetrics& metrics, RouterHealth& health, Logger& log)
    : settings_(std::move(settings)),
      worker_(worker),
      metrics_(metrics),
      health_(health),
      log_(log) {}

int AlertRouter::run(const std::atomic<bool>& stop) {
  const auto new_batch = [this] {
    return AlertBatch(settings_.topic, settings_.batch_max_events, settings_.batch_max_bytes);
  };
  AlertBatch pending = new_batch();
  auto pending_since = Clock::now();
  std::deque<kafka::Message> waiting;  // polled after `pending` filled up; fetching is paused
  std::set<std::int32_t> assigned;
  std::size_t in_flight = 0;  // events handed to the worker and not yet back
  bool paused = false;

  kafka::ClientHooks hooks;
  hooks.on_error = [this](const kafka::KafkaError& e) {
    if (e.code == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN || e.code == RD_KAFKA_RESP_ERR__TRANSPORT ||
        e.code == RD_KAFKA_RESP_ERR__TIMED_OUT)
      health_.broker_down.store(true);
    log_.warn("kafka client error", {{"error", e.to_string()}});
  };
  hooks.on_log = [this](int level, std::string_view facility, std::string_view message) {
    if (level <= 4) log_.warn("librdkafka", {{"facility", facility}, {"detail", message}});
  };
  kafka::ConsumerSettings cs;
  cs.config = settings_.kafka;
  // Alert events are small and few: a small prefetch keeps the memory bound tight.
  cs.config.try_emplace("queued.max.messages.kbytes", "1024");
  cs.group_id = settings_.group_id;
  cs.hooks = hooks;
  cs.on_rebalance = [&](kafka::RebalanceKind kind, const kafka::PartitionOffsets& partitions) {
    for (const auto& tp : partitions) {
      if (kind == kafka::RebalanceKind::Assigned) {
        assigned.insert(tp.partition);
        paused = false;  // a fresh assignment fetches; the loop pauses it again if need be
        continue;
      }
      // The next owner reads these again from the committed offset.
      assigned.erase(tp.partition);
      pending.drop_partition(tp.partition);
      std::erase_if(waiting,
                    [&](const kafka::Message& m) { return m.partition() == tp.partition; });
    }
    log_.info(kind == kafka::RebalanceKind::Assigned ? "partitions assigned" : "partitions revoked",
              {{"count", partitions.size()}});
  };
  auto created = kafka::Consumer::create(std::move(cs));
  if (!created.ok()) {
    log_.error("cannot create the consumer", {{"error", created.error().to_string()}});
    return 1;
  }
  kafka::Consumer consumer = std::move(created).value();
  if (auto s = consumer.subscribe({settings_.topic}); !s.ok()) {
    log_.error("cannot subscribe", {{"topic", settings_.topic}, {"error", s.error().to_string()}});
    return 1;
  }
  health_.subscribed.store(true);
  log_.info("routing alert events", {{"topic", settings_.topic}, {"group", settings_.group_id}});

  const auto commit_delivered = [&](const DeliveredBatch& done) {
    in_flight = 0;
    if (!done.report.complete) return;
    kafka::PartitionOffsets offsets = done.batch.next_offsets();
    // A partition revoked meanwhile belongs to someone else now, who re-sends from its offset.
    std::erase_if(offsets, [&](const auto& tp) { return !assigned.contains(tp.partition); });
    if (auto c = consumer.commit(offsets); !c.ok())
      log_.warn("offset commit failed; these alert events will be sent again",
                {{"error", c.error().to_string()}});
    else
      health_.broker_down.store(false);
  };
  const auto refill = [&] {
    while (!waiting.empty()) {
      const auto& m = waiting.front();
      if (!pending.add(m.partition(), m.offset(), m.timestamp_ms(), m.value())) break;
      waiting.pop_front();
    }
  };

  auto last_tick = Clock::now();
  auto last_broker_ok = Clock::now();
  int code = 0;
  while (!stop.load()) {
    if (auto done = worker_.take()) commit_delivered(*done);
    if (worker_.idle() && !pending.empty() &&
        (pending.full() || !waiting.empty() || Clock::now() - pending_since >= settings_.linger)) {
      in_flight = pending.size();
      worker_.submit(std::exchange(pending, new_batch()));
      pending_since = Clock::now();
      refill();
    }
    const bool want_pause = !waiting.empty() || pending.full();
    if (want_pause != paused) {
      auto s = want_pause ? consumer.pause() : consumer.resume();
      if (s.ok()) paused = want_pause;
    }
    auto polled = consumer.poll(20ms);
    if (!polled.ok()) {
      if (polled.error().fatal) {
        log_.error("fatal consumer error", {{"error", polled.error().to_string()}});
        code = 1;
        break;
      }
      log_.warn("consumer error", {{"error", polled.error().to_string()}});
    } else if (auto& message = polled.value()) {
      health_.broker_down.store(false);
      last_broker_ok = Clock::now();
      if (pending.empty()) pending_since = Clock::now();
      if (!waiting.empty() || !pending.add(message->partition(), message->offset(),
                                           message->timestamp_ms(), message->value()))
        waiting.push_back(std::move(*message));
    }
    if (Clock::now() - last_tick >= 1s) {
      last_tick = Clock::now();
      // Readiness needs evidence: with no message for a while, ask the group coordinator (for
      // partition 0, which exists: with no assignment an empty query would not reach the broker).
      if (Clock::now() - last_broker_ok >= 1s) {
        const bool ok =
            consumer.committed(500ms, {{settings_.topic, 0, RD_KAFKA_OFFSET_INVALID}}).ok();
        health_.broker_down.store(!ok);
        if (ok) last_broker_ok = Clock::now();
      }
      // Read but not yet delivered counts too: the lag is what Alertmanager has not seen.
      auto lag = static_cast<std::int64_t>(pending.size() + waiting.size() + in_flight);
      if (auto positions = consumer.positions(); positions.ok()) {
        for (const auto& tp : positions.value()) {
          auto w = consumer.cached_watermarks(tp.topic, tp.partition);
          if (w.ok() && tp.offset >= 0 && w.value().second > tp.offset)
            lag += w.value().second - tp.offset;
        }
      }
      metrics_.set_lag(lag);
    }
  }
  health_.running.store(false);
  // The worker gives up retrying on `stop`; a batch it finishes meanwhile is still committed.
  while (code == 0 && !worker_.idle()) {
    if (auto done = worker_.take()) {
      commit_delivered(*done);
      break;
    }
    (void)consumer.poll(20ms);
  }
  if (auto s = consumer.close(); !s.ok())
    log_.warn("closing the consumer", {{"error", s.error().to_string()}});
  log_.info("alert router stopped");
  return code;
}

}  // namespace patchstream::alert_router
