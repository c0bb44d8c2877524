// kafka::MockCluster and the mock-broker topic list: what the toy broker offers, and the
// transaction faking that makes it a toy.
#include "kafka/mock_cluster.h"
#include "cli/mock_broker_command.h"
#include "kafka/admin.h"
#include "kafka/consumer.h"
#include "kafka/producer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

namespace patchstream {
namespace {

using namespace std::chrono_literals;

TEST(MockCluster, RefusesNoBrokersAndBadTopics) {
  auto none = kafka::MockCluster::create(0);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message.find("at least 1"), std::string::npos);

  auto cluster = kafka::MockCluster::create(1);
  ASSERT_TRUE(cluster.ok()) << cluster.error().to_string();
  EXPECT_FALSE(cluster->create_topic("", 1).ok());
  EXPECT_FALSE(cluster->create_topic("t", 0).ok());
}

TEST(MockCluster, ServesTopicsOnEveryBrokerAfterAMove) {
  auto created = kafka::MockCluster::create(2);
  ASSERT_TRUE(created.ok()) << created.error().to_string();
  kafka::MockCluster cluster = std::move(created).value();
  ASSERT_TRUE(cluster.create_topic("three", 3, 5).ok());  // replication capped at the 2 brokers
  const std::string bootstrap = cluster.bootstrap();
  EXPECT_EQ(std::count(bootstrap.begin(), bootstrap.end(), ','), 1) << bootstrap;
  EXPECT_EQ(bootstrap.rfind("127.0.0.1:", 0), 0U) << bootstrap;

  auto admin = kafka::Admin::create({{"bootstrap.servers", bootstrap}});
  ASSERT_TRUE(admin.ok()) << admin.error().to_string();
  auto partitions = admin->partition_count("three", 10s);
  ASSERT_TRUE(partitions.ok()) << partitions.error().to_string();
  EXPECT_EQ(partitions.value(), 3);
}

// Why the mock is a toy: an aborted transaction's record reaches a read_committed consumer, because
// the mock writes no transaction markers. If this ever fails, librdkafka's mock learned aborts and
// docs/KAFKA-BROKER.md should say so.
TEST(MockCluster, AbortedTransactionIsVisibleToReadCommitted) {
  auto cluster = kafka::MockCluster::create(1);
  ASSERT_TRUE(cluster.ok()) << cluster.error().to_string();
  ASSERT_TRUE(cluster->create_topic("txn", 1).ok());
  const kafka::KafkaConfig config{{"bootstrap.servers", cluster->bootstrap()}};

  auto producer = kafka::Producer::transactional(config, "mock-abort-test");
  ASSERT_TRUE(producer.ok()) << producer.error().to_string();
  ASSERT_TRUE(producer->init_transactions(10s).ok());
  ASSERT_TRUE(producer->begin_transaction().ok());
  ASSERT_TRUE(producer->produce("txn", "k", "aborted").ok());
  ASSERT_TRUE(producer->flush(10s).ok());
  ASSERT_TRUE(producer->abort_transaction(10s).ok());
  ASSERT_TRUE(producer->begin_transaction().ok());
  ASSERT_TRUE(producer->produce("txn", "k", "committed").ok());
  ASSERT_TRUE(producer->commit_transaction(10s).ok());

  // The wrapper's consumer always reads with isolation.level=read_committed.
  auto consumer = kafka::Consumer::create({config, "mock-abort-reader", {}, {}});
  ASSERT_TRUE(consumer.ok()) << consumer.error().to_string();
  ASSERT_TRUE(consumer->subscribe({"txn"}).ok());
  std::vector<std::string> seen;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (seen.size() < 2 && std::chrono::steady_clock::now() < deadline) {
    auto polled = consumer->poll(100ms);
    ASSERT_TRUE(polled.ok()) << polled.error().to_string();
    if (polled.value()) seen.emplace_back(polled.value()->value());
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"aborted", "committed"}));
  EXPECT_TRUE(consumer->close().ok());
}

TEST(MockTopicList, ParsesNamesPartitionsAndCompaction) {
  std::vector<MockTopic> topics;
  std::string error;
  ASSERT_TRUE(parse_mock_topics("a,b:3,,c:1:compact", topics, error)) << error;
  ASSERT_EQ(topics.size(), 3U);
  EXPECT_EQ(topics[0].name, "a");
  EXPECT_EQ(topics[0].partitions, 1);
  EXPECT_EQ(topics[1].partitions, 3);
  EXPECT_FALSE(topics[1].compact);
  EXPECT_TRUE(topics[2].compact);
  EXPECT_TRUE(parse_mock_topics("", topics, error));
  EXPECT_TRUE(topics.empty());
}

TEST(MockTopicList, ErrorsNameTheBadEntry) {
  std::vector<MockTopic> topics;
  std::string error;
  for (const char* bad : {"x:0", "x:abc", "x:3:delete", ":3", "x:99999"}) {
    EXPECT_FALSE(parse_mock_topics(std::string("ok,") + bad, topics, error)) << bad;
    EXPECT_NE(error.find(bad), std::string::npos) << error;
  }
}

}  // namespace
}  // namespace patchstream
