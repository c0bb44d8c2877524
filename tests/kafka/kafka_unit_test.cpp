// Unit tests of the Kafka wrapper that need no real broker: configuration errors, headers,
// queue-full, mock cluster.
#include "kafka/config.h"
#include "kafka/consumer.h"
#include "kafka/producer.h"
#include "kafka/records.h"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka_mock.h>

#include <array>
#include <chrono>
#include <string>
#include <vector>

namespace patchstream::kafka {
namespace {

using namespace std::chrono_literals;

TEST(KafkaConfig, UnknownKeyErrorNamesTheKey) {
  auto conf = make_conf({{"bootstrap.servers", "127.0.0.1:1"}, {"no.such.property", "x"}});
  ASSERT_FALSE(conf.ok());
  EXPECT_NE(conf.error().message.find("kafka.no.such.property"), std::string::npos)
      << conf.error().message;
}

TEST(KafkaConfig, BadValueErrorNamesTheKey) {
  auto conf = make_conf({{"acks", "banana"}});
  ASSERT_FALSE(conf.ok());
  EXPECT_NE(conf.error().message.find("kafka.acks"), std::string::npos) << conf.error().message;
}

TEST(KafkaConfig, StripPrefixKeepsOnlyKafkaKeys) {
  auto out = strip_prefix({{"kafka.acks", "all"},
                           {"kafka.", "x"},
                           {"topics.input", "in"},
                           {"kafka.ssl.ca.location", "/ca"}});
  EXPECT_EQ(out, (KafkaConfig{{"acks", "all"}, {"ssl.ca.location", "/ca"}}));
}

TEST(KafkaConsumerConfig, RefusesSettingsThatBreakTheLoop) {
  auto auto_commit = Consumer::create(
      {{{"bootstrap.servers", "127.0.0.1:1"}, {"enable.auto.commit", "true"}}, "g", {}, {}});
  ASSERT_FALSE(auto_commit.ok());
  EXPECT_NE(auto_commit.error().message.find("kafka.enable.auto.commit"), std::string::npos);

  auto uncommitted = Consumer::create(
      {{{"bootstrap.servers", "127.0.0.1:1"}, {"isolation.level", "read_uncommitted"}},
       "g",
       {},
       {}});
  ASSERT_FALSE(uncommitted.ok());
  EXPECT_NE(uncommitted.error().message.find("kafka.isolation.level"), std::string::npos);

  auto cooperative = Consumer::create({{{"bootstrap.servers", "127.0.0.1:1"},
                                        {"partition.assignment.strategy", "cooperative-sticky"}},
                                       "g",
                                       {},
                                       {}});
  ASSERT_FALSE(cooperative.ok());
  EXPECT_NE(cooperative.error().message.find("kafka.partition.assignment.strategy"),
            std::string::npos);

  auto no_group = Consumer::create({{{"bootstrap.servers", "127.0.0.1:1"}}, "", {}, {}});
  ASSERT_FALSE(no_group.ok());
  EXPECT_NE(no_group.error().message.find("kafka.group.id"), std::string::npos);

  auto fine = Consumer::create(
      {{{"bootstrap.servers", "127.0.0.1:1"}, {"isolation.level", "read_committed"}}, "g", {}, {}});
  EXPECT_TRUE(fine.ok()) << fine.error().to_string();
}

TEST(KafkaProducerConfig, IdempotentProducerRefusesTransactionalId) {
  auto p = Producer::idempotent({{"bootstrap.servers", "127.0.0.1:1"}, {"transactional.id", "x"}});
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message.find("kafka.transactional.id"), std::string::npos);
  EXPECT_FALSE(Producer::transactional({{"bootstrap.servers", "127.0.0.1:1"}}, "").ok());
  auto idem_off = Producer::transactional({{"enable.idempotence", "false"}}, "t");
  ASSERT_FALSE(idem_off.ok());
  EXPECT_NE(idem_off.error().message.find("kafka.enable.idempotence"), std::string::npos);
}

TEST(KafkaHeaders, RoundTripKeepsOrderRepeatsAndNullValues) {
  std::array<HeaderView, 4> in{{{"ce_id", "1"}, {"empty", ""}, {"null", {}}, {"ce_id", "2"}}};
  auto hdrs = make_headers(in);
  auto out = read_headers(hdrs.get());
  ASSERT_EQ(out.size(), 4U);
  EXPECT_EQ(out[0].key, "ce_id");
  EXPECT_EQ(out[0].value, "1");
  EXPECT_EQ(out[1].value, "");
  EXPECT_NE(out[1].value.data(), nullptr);
  EXPECT_EQ(out[2].value.data(), nullptr);
  EXPECT_EQ(out[3].value, "2");
}

TEST(KafkaProducer, FullQueueIsReportedNotBuffered) {
  // Nothing listens on port 1, so nothing leaves the queue.
  auto p = Producer::idempotent(
      {{"bootstrap.servers", "127.0.0.1:1"}, {"queue.buffering.max.messages", "5"}});
  ASSERT_TRUE(p.ok()) << p.error().to_string();
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(p->produce("t", "k", "v").ok());
  }
  auto full = p->produce("t", "k", "v");
  ASSERT_FALSE(full.ok());
  EXPECT_TRUE(full.error().queue_full()) << full.error().to_string();
  // The 5 messages, plus at most a few protocol requests librdkafka counts in the same queue
  // (it keeps trying to reach the broker for a producer id).
  EXPECT_GE(p->queue_length(), 5);
  EXPECT_LE(p->queue_length(), 8);
}

// librdkafka's mock cluster: a fast check of produce → group consume with key, value and headers.
TEST(KafkaMockCluster, ProducedRecordIsConsumedWithHeaders) {
  KafkaConfig mock{{"test.mock.num.brokers", "1"}, {"bootstrap.servers", "127.0.0.1:1"}};
  auto producer = Producer::idempotent(mock);
  ASSERT_TRUE(producer.ok()) << producer.error().to_string();
  std::array<HeaderView, 1> headers{{{"content-type", "application/json"}}};
  ASSERT_TRUE(producer->produce("mock-topic", "doc-7", "{\"x\":1}", headers).ok());
  ASSERT_TRUE(producer->flush(10s).ok());
  EXPECT_EQ(producer->deliveries().delivered, 1U);

  // The consumer needs the producer's mock cluster: take its bootstrap address.
  const char* servers =
      rd_kafka_mock_cluster_bootstraps(rd_kafka_handle_mock_cluster(producer->get()));
  ASSERT_NE(servers, nullptr);
  auto consumer = Consumer::create({{{"bootstrap.servers", servers}}, "mock-group", {}, {}});
  ASSERT_TRUE(consumer.ok()) << consumer.error().to_string();
  ASSERT_TRUE(consumer->subscribe({"mock-topic"}).ok());
  std::optional<Message> got;
  for (int i = 0; i < 100 && !got; ++i) {
    auto m = consumer->poll(100ms);
    ASSERT_TRUE(m.ok()) << m.error().to_string();
    got = std::move(m).value();
  }
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->key(), "doc-7");
  EXPECT_EQ(got->value(), "{\"x\":1}");
  EXPECT_EQ(got->header("content-type"), "application/json");
  EXPECT_FALSE(got->header("absent").has_value());
  auto rec = got->to_record();
  EXPECT_EQ(rec.topic, "mock-topic");
  EXPECT_EQ(rec.headers, (std::vector<Header>{{"content-type", "application/json"}}));
  EXPECT_TRUE(consumer->close().ok());
}

}  // namespace
}  // namespace patchstream::kafka
