// The I/O ceiling: a raw consume → produce pipe with the processor's Kafka settings and
// transactions, but no decoding. patchstream's end-to-end figures are reported next to it.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

#include "config/processor_config.h"
#include "kafka/consumer.h"
#include "kafka/producer.h"

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
namespace kafka = patchstream::kafka;
using patchstream::ProcessingConfig;

namespace {
std::atomic<bool> stop_requested{false};  // SIGTERM: print the figures so far and exit
}

int main(int argc, char** argv) {
  CLI::App app{"kafka_pipe: consume → produce (same bytes), transactional like patchstream run"};
  std::string bootstrap = "127.0.0.1:9092", input = "patch-batches", output = "patch-results";
  std::string group = "kafka-pipe";
  bool at_least_once = false;
  const ProcessingConfig defaults;  // the same commit policy as `patchstream run`
  std::size_t commit_events = defaults.commit_every_events, expect = 0;
  auto commit_ms = static_cast<int>(defaults.commit_every.count());
  app.add_option("--bootstrap", bootstrap);
  app.add_option("--input", input);
  app.add_option("--output", output);
  app.add_option("--group", group);
  app.add_flag("--at-least-once", at_least_once);
  app.add_option("--commit-events", commit_events)->capture_default_str();
  app.add_option("--commit-ms", commit_ms)->capture_default_str();
  app.add_option("--expect", expect, "stop after this many events are committed")->required();
  std::vector<std::string> extra;
  app.add_option("-X", extra, "librdkafka property key=value for the producer (e.g. debug=eos)");
  std::vector<std::string> consumer_extra;
  app.add_option("-C", consumer_extra, "librdkafka property key=value for the consumer");
  CLI11_PARSE(app, argc, argv);

  const kafka::KafkaConfig config{{"bootstrap.servers", bootstrap},
                                  {"queue.buffering.max.kbytes", "32768"},
                                  {"linger.ms", "5"}};
  kafka::KafkaConfig producer_config = config;
  for (const auto& kv : extra) {
    const auto eq = kv.find('=');
    if (eq != std::string::npos) producer_config[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  auto producer = at_least_once
                      ? kafka::Producer::idempotent(producer_config)
                      : kafka::Producer::transactional(producer_config, "kafka-pipe-" + group);
  if (!producer.ok()) return std::fprintf(stderr, "%s\n", producer.error().to_string().c_str()), 1;
  if (!at_least_once) {
    if (auto s = producer->init_transactions(30s); !s.ok()) {
      return std::fprintf(stderr, "%s\n", s.error().to_string().c_str()), 1;
    }
  }
  // As patchstream run does: the output topic's handle is kept (no per-record lookup) and its
  // metadata is known before the first transaction.
  if (auto s = producer->load_topics({output}, 5s); !s.ok()) {
    return std::fprintf(stderr, "%s\n", s.error().to_string().c_str()), 1;
  }
  kafka::ConsumerSettings cs{
      {{"bootstrap.servers", bootstrap}, {"queued.max.messages.kbytes", "16384"}}, group, {}, {}};
  for (const auto& kv : consumer_extra) {
    const auto eq = kv.find('=');
    if (eq != std::string::npos) cs.config[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  auto consumer = kafka::Consumer::create(cs);
  if (!consumer.ok() || !consumer->subscribe({input}).ok()) return 1;

  std::size_t done = 0, pending = 0;
  std::string ce_id;
  std::vector<double> consume_delay_ms;
  std::vector<double> commit_took_ms;  // commit_with_offsets, per transaction
  bool open = false;
  Clock::time_point first{}, batch_start{};
  const auto commit = [&] {
    auto positions = consumer->positions();
    kafka::PartitionOffsets offsets;
    for (auto& tp : positions.value()) {
      if (tp.offset >= 0) offsets.push_back(tp);
    }
    if (at_least_once) {
      (void)producer->flush(60s);
      (void)consumer->commit(offsets);
    } else {
      auto group_md = consumer->group_metadata();
      const auto commit_started = Clock::now();
      auto s = producer->commit_with_offsets(offsets, group_md.get(), 60s);
      commit_took_ms.push_back(
          std::chrono::duration<double, std::milli>(Clock::now() - commit_started).count());
      if (!s.ok()) {
        std::fprintf(stderr, "commit: %s\n", s.error().to_string().c_str());
        std::exit(1);
      }
      open = false;
    }
    done += pending;
    pending = 0;
  };
  std::signal(SIGTERM, [](int) { stop_requested = true; });
  while (done < expect && !stop_requested) {
    auto polled = consumer->poll(20ms);
    // The processor's consumer workaround, so both read at the same pace.
    if (polled.ok() && !polled.value()) (void)consumer->wake_parked_fetchers(100ms);
    if (polled.ok() && polled.value()) {
      auto& m = *polled.value();
      if (first == Clock::time_point{}) first = Clock::now();
      // Input CreateTime → consumed here: the share of the latency spent before the pipe.
      consume_delay_ms.push_back(
          static_cast<double>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count() -
                              m.timestamp_ms()));
      if (!at_least_once && !open) {
        (void)producer->begin_transaction();
        open = true;
        batch_start = Clock::now();
      }
      if (pending == 0) batch_start = Clock::now();
      // The one addition to the bytes: ce_id as patchstream sets it, so the latency probe can
      // measure the pipe exactly like the processor.
      ce_id.assign(m.topic());
      ce_id += '/' + std::to_string(m.partition()) + '/' + std::to_string(m.offset());
      const kafka::HeaderView headers[] = {{"ce_id", ce_id}};
      for (;;) {
        auto s = producer->produce(output, m.key(), m.value(), headers);
        if (s.ok()) break;
        if (!s.error().queue_full())
          return std::fprintf(stderr, "%s\n", s.error().to_string().c_str()), 1;
        producer->poll(10ms);
      }
      ++pending;
    }
    if (pending && (pending >= commit_events ||
                    Clock::now() - batch_start >= std::chrono::milliseconds(commit_ms))) {
      commit();
    }
    producer->poll(0ms);
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - first).count();
  std::sort(commit_took_ms.begin(), commit_took_ms.end());
  std::sort(consume_delay_ms.begin(), consume_delay_ms.end());
  const auto qc = [&consume_delay_ms](double f) {
    return consume_delay_ms.empty()
               ? 0.0
               : consume_delay_ms[static_cast<std::size_t>(f * (consume_delay_ms.size() - 1))];
  };
  const auto q = [&commit_took_ms](double f) {
    return commit_took_ms.empty()
               ? 0.0
               : commit_took_ms[static_cast<std::size_t>(f * (commit_took_ms.size() - 1))];
  };
  std::printf(
      "{\"events\":%zu,\"seconds\":%.3f,\"events_per_second\":%.0f,\"commits\":%zu,"
      "\"commit_ms_p50\":%.1f,\"commit_ms_p99\":%.1f,\"commit_ms_max\":%.1f,"
      "\"consume_delay_ms_p50\":%.0f,\"consume_delay_ms_p99\":%.0f}\n",
      done, seconds, static_cast<double>(done) / seconds, commit_took_ms.size(), q(0.5), q(0.99),
      q(1.0), qc(0.5), qc(0.99));
  (void)consumer->close();
  return 0;
}
