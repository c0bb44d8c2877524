// The I/O ceiling: a raw consume → produce pipe with the processor's Kafka settings and
// transactions, but no decoding. patchstream's end-to-end figures are reported next to it.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <string>

#include "kafka/consumer.h"
#include "kafka/producer.h"

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
namespace kafka = patchstream::kafka;

int main(int argc, char** argv) {
  CLI::App app{"kafka_pipe: consume → produce (same bytes), transactional like patchstream run"};
  std::string bootstrap = "127.0.0.1:9092", input = "patch-batches", output = "patch-results";
  std::string group = "kafka-pipe";
  bool at_least_once = false;
  std::size_t commit_events = 1000, expect = 0;
  int commit_ms = 100;
  app.add_option("--bootstrap", bootstrap);
  app.add_option("--input", input);
  app.add_option("--output", output);
  app.add_option("--group", group);
  app.add_flag("--at-least-once", at_least_once);
  app.add_option("--commit-events", commit_events);
  app.add_option("--commit-ms", commit_ms);
  app.add_option("--expect", expect, "stop after this many events are committed")->required();
  CLI11_PARSE(app, argc, argv);

  const kafka::KafkaConfig config{{"bootstrap.servers", bootstrap},
                                  {"queue.buffering.max.kbytes", "65536"},
                                  {"linger.ms", "5"}};
  auto producer = at_least_once ? kafka::Producer::idempotent(config)
                                : kafka::Producer::transactional(config, "kafka-pipe-" + group);
  if (!producer.ok()) return std::fprintf(stderr, "%s\n", producer.error().to_string().c_str()), 1;
  if (!at_least_once) {
    if (auto s = producer->init_transactions(30s); !s.ok()) {
      return std::fprintf(stderr, "%s\n", s.error().to_string().c_str()), 1;
    }
  }
  kafka::ConsumerSettings cs{
      {{"bootstrap.servers", bootstrap}, {"queued.max.messages.kbytes", "32768"}}, group, {}, {}};
  auto consumer = kafka::Consumer::create(cs);
  if (!consumer.ok() || !consumer->subscribe({input}).ok()) return 1;

  std::size_t done = 0, pending = 0;
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
      auto s = producer->send_offsets_to_transaction(offsets, group_md.get(), 30s);
      if (s.ok()) s = producer->commit_transaction(60s);
      if (!s.ok()) {
        std::fprintf(stderr, "commit: %s\n", s.error().to_string().c_str());
        std::exit(1);
      }
      open = false;
    }
    done += pending;
    pending = 0;
  };
  while (done < expect) {
    auto polled = consumer->poll(20ms);
    if (polled.ok() && polled.value()) {
      auto& m = *polled.value();
      if (first == Clock::time_point{}) first = Clock::now();
      if (!at_least_once && !open) {
        (void)producer->begin_transaction();
        open = true;
        batch_start = Clock::now();
      }
      if (pending == 0) batch_start = Clock::now();
      for (;;) {
        auto s = producer->produce(output, m.key(), m.value());
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
  std::printf("{\"events\":%zu,\"seconds\":%.3f,\"events_per_second\":%.0f}\n", done, seconds,
              static_cast<double>(done) / seconds);
  (void)consumer->close();
  return 0;
}
