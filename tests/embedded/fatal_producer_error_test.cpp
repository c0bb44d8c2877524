// A fatal producer error ends the loop with status 1 and a clear log line, for the supervisor to
// restart the instance (issue 4's contract). The mock cluster's error injection makes EndTxn fail
// with INVALID_TXN_STATE, fatal in librdkafka 2.0.2, as a real broker did after a restart during
// the heavy fault run; nothing of the failed transaction is committed.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "kafka/mock_cluster.h"
#include "kafka/producer.h"
#include "logging/logger.h"
#include "stream/event_router.h"
#include "stream/health.h"
#include "stream/stream_processor.h"

namespace patchstream {
namespace {

using namespace std::chrono_literals;

TEST(FatalProducerError, EndsTheLoopWithStatusOneForTheSupervisor) {
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
  StreamObserver observer;
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

  // The loop ends by itself once the failed commit turns fatal; the watchdog only keeps a
  // regression (a loop that goes on) from hanging the test.
  std::thread watchdog([&] {
    for (int i = 0; i < 300 && health.running.load(); ++i)
      std::this_thread::sleep_for(100ms);
    stop = true;
  });
  loop.join();
  stop = true;
  watchdog.join();

  std::rewind(log_file);
  std::string logged(1 << 16, '\0');
  logged.resize(std::fread(logged.data(), 1, logged.size(), log_file));
  std::fclose(log_file);
  EXPECT_EQ(code, 1) << logged;
  EXPECT_NE(logged.find("fatal Kafka error: exiting so the supervisor restarts the instance"),
            std::string::npos)
      << logged;
  EXPECT_NE(logged.find("INVALID_TXN_STATE"), std::string::npos) << logged;
}

}  // namespace
}  // namespace patchstream
