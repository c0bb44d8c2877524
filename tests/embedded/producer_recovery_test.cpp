// The Kafka loop survives a fatal producer error in-process (on the mock cluster, whose error
// injection makes EndTxn fail with INVALID_TXN_STATE, fatal in librdkafka 2.0.2, as a real broker
// did after a restart during the heavy fault run).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <set>
#include <string>
#include <thread>

#include "kafka/consumer.h"
#include "kafka/mock_cluster.h"
#include "kafka/producer.h"
#include "logging/logger.h"
#include "stream/event_router.h"
#include "stream/health.h"
#include "stream/stream_processor.h"

namespace patchstream {
namespace {

using namespace std::chrono_literals;

TEST(ProducerRecovery, FatalEndTxnErrorRecreatesTheProducerAndKeepsProcessing) {
  auto cluster = kafka::MockCluster::create(1);
  ASSERT_TRUE(cluster.ok());
  for (const char* topic : {"in", "results", "legacy", "dlq", "metrics", "alerts"})
    ASSERT_TRUE(cluster->create_topic(topic, 1).ok());
  const kafka::KafkaConfig base{{"bootstrap.servers", cluster->bootstrap()}};

  constexpr int kEvents = 50;
  {
    auto seed = kafka::Producer::idempotent(base);
    ASSERT_TRUE(seed.ok());
    for (int i = 0; i < kEvents; ++i) {
      const std::string value = R"({"batch_id":"b)" + std::to_string(i) +
                                R"(","user_id":"u","document_id":"d","snapshot":["a"],)"
                                R"("patches":[{"op":"replace","line":1,"lines":["b"]}]})";
      ASSERT_TRUE(seed->produce("in", "d", value).ok());
    }
    ASSERT_TRUE(seed->flush(10s).ok());
  }
  // The first commit's EndTxn fails fatally.
  constexpr std::int16_t kEndTxn =
      26;  // the Kafka protocol ApiKey (librdkafka keeps RD_KAFKAP_* private)
  cluster->push_request_errors(kEndTxn, {RD_KAFKA_RESP_ERR_INVALID_TXN_STATE});

  flags::FlagRegistry registry;
  EventRouter router(
      {"recovery", "batch-patches-v1", "results", "legacy", "dlq", Limits{}, 1'000'000}, registry);
  std::FILE* log_file = std::tmpfile();
  Logger log(1, log_file);
  HealthState health;
  std::atomic<int> aborts{0};
  StreamObserver observer;
  observer.on_abort = [&aborts] { ++aborts; };
  StreamSettings settings;
  settings.kafka = base;
  settings.kafka["session.timeout.ms"] = "6000";
  settings.input_topic = "in";
  settings.group_id = "recovery";
  settings.transactional_id = "patchstream-recovery";
  settings.commit_every = 50ms;
  settings.output_topics = {"results", "legacy", "dlq", "metrics", "alerts"};
  StreamProcessor processor(settings, router, log, health, observer);
  std::atomic<bool> stop{false};
  int code = -1;
  std::thread loop([&] { code = processor.run(stop); });

  // Every input gets its (legacy: the flag is unknown) output although the first commit failed.
  kafka::ConsumerSettings cs{base, "reader", {}, {}};
  auto reader = kafka::Consumer::create(cs);
  ASSERT_TRUE(reader.ok());
  ASSERT_TRUE(reader->subscribe({"legacy"}).ok());
  std::set<std::string> seen;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (static_cast<int>(seen.size()) < kEvents && std::chrono::steady_clock::now() < deadline) {
    auto m = reader->poll(100ms);
    if (m.ok() && m.value()) seen.insert(std::string(m.value()->header("ce_id").value_or("")));
  }
  stop = true;
  loop.join();

  std::rewind(log_file);
  std::string logged(1 << 16, '\0');
  logged.resize(std::fread(logged.data(), 1, logged.size(), log_file));
  std::fclose(log_file);
  EXPECT_EQ(code, 0) << logged;  // stopped cleanly, never exited for a restart
  EXPECT_EQ(static_cast<int>(seen.size()), kEvents) << logged;
  EXPECT_GE(aborts.load(), 1);
  EXPECT_NE(logged.find("recreating the producer"), std::string::npos) << logged;
}

}  // namespace
}  // namespace patchstream
