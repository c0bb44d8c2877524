// The wrapper against the real Kafka 3.9 broker: transactions, offsets in transactions, fencing,
// topic admin.
#include "broker_env.h"
#include "kafka/admin.h"
#include "kafka/consumer.h"
#include "kafka/producer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

namespace patchstream::kafka {
namespace {

using namespace std::chrono_literals;
using test::client_config;
using test::create_topic;
using test::unique_name;

Consumer make_consumer(const std::string& group, RebalanceHook hook = {}) {
  auto c = Consumer::create({client_config(), group, std::move(hook), {}});
  if (!c) {
    throw std::runtime_error(c.error().to_string());
  }
  return std::move(c).value();
}

Producer make_transactional(const std::string& id) {
  auto p = Producer::transactional(client_config(), id);
  if (!p) {
    throw std::runtime_error(p.error().to_string());
  }
  auto init = p->init_transactions(30s);
  if (!init) {
    throw std::runtime_error(init.error().to_string());
  }
  return std::move(p).value();
}

// Polls until `want` messages arrived, then keeps polling `settle` longer to catch any extra one.
std::vector<Record> consume(Consumer& c, size_t want, std::chrono::milliseconds settle = 500ms,
                            std::chrono::seconds limit = 30s) {
  std::vector<Record> out;
  auto deadline = std::chrono::steady_clock::now() + limit;
  std::chrono::steady_clock::time_point settle_until{};
  while (std::chrono::steady_clock::now() < deadline) {
    if (out.size() >= want) {
      if (settle_until == std::chrono::steady_clock::time_point{}) {
        settle_until = std::chrono::steady_clock::now() + settle;
      } else if (std::chrono::steady_clock::now() > settle_until) {
        break;
      }
    }
    auto m = c.poll(100ms);
    if (!m) {
      ADD_FAILURE() << m.error().to_string();
      continue;
    }
    if (m.value()) {
      out.push_back(m.value()->to_record());
    }
  }
  return out;
}

std::vector<std::string> values(const std::vector<Record>& records) {
  std::vector<std::string> out;
  for (const auto& r : records) {
    out.push_back(r.value);
  }
  return out;
}

int64_t total_offset(const PartitionOffsets& offsets) {
  return std::accumulate(
      offsets.begin(), offsets.end(), int64_t{0},
      [](int64_t sum, const auto& tpo) { return sum + std::max<int64_t>(tpo.offset, 0); });
}

// kcat as an independent client: the values of `topic` at the given isolation level, one per line.
std::vector<std::string> kcat_values(const std::string& topic, const std::string& isolation) {
  std::string cmd = "kcat -C -q -e -b " + test::bootstrap() + " -t " + topic +
                    " -X isolation.level=" + isolation + " -f '%s\\n' 2>&1";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.c_str(), "r"), pclose);
  std::vector<std::string> out;
  if (!pipe) {
    return out;
  }
  std::array<char, 4096> line{};
  while (fgets(line.data(), line.size(), pipe.get()) != nullptr) {
    std::string s(line.data());
    if (!s.empty() && s.back() == '\n') {
      s.pop_back();
    }
    out.push_back(s);
  }
  return out;
}

TEST(KafkaBroker, AdminCreatesPlainAndCompactedTopics) {
  auto admin = Admin::create(client_config());
  ASSERT_TRUE(admin.ok()) << admin.error().to_string();
  std::array<TopicSpec, 2> specs{TopicSpec{unique_name("plain"), 3, 1, {}},
                                 TopicSpec::compacted(unique_name("compacted"))};
  ASSERT_TRUE(admin->create_topics(specs, 30s).ok());

  auto partitions = admin->partition_count(specs[0].name, 10s);
  ASSERT_TRUE(partitions.ok()) << partitions.error().to_string();
  EXPECT_EQ(partitions.value(), 3);
  auto config = admin->describe_topic(specs[1].name, 10s);
  ASSERT_TRUE(config.ok()) << config.error().to_string();
  EXPECT_EQ(config.value().at("cleanup.policy"), "compact");
  EXPECT_EQ(admin->describe_topic(specs[0].name, 10s).value().at("cleanup.policy"), "delete");

  EXPECT_TRUE(admin->create_topics(specs, 30s, true).ok())
      << "existing topics are fine with exist_ok";
  auto again = admin->create_topics(specs, 30s, false);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS);
  EXPECT_NE(again.error().message.find(specs[0].name), std::string::npos) << again.error().message;

  auto missing = admin->partition_count(unique_name("missing"), 5s);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART);

  std::array<std::string, 2> names{specs[0].name, specs[1].name};
  EXPECT_TRUE(admin->delete_topics(names, 30s).ok());
}

TEST(KafkaBroker, CommittedTransactionIsVisibleAndAbortedIsNot) {
  auto topic = create_topic("txn-visibility", 1);
  auto producer = make_transactional(unique_name("txn-visibility"));
  std::array<HeaderView, 2> headers{
      {{"ce_specversion", "1.0"}, {"ce_type", "patchstream.result.v1"}}};

  ASSERT_TRUE(producer.begin_transaction().ok());
  ASSERT_TRUE(producer.produce(topic, "doc-1", "committed-1", headers).ok());
  ASSERT_TRUE(producer.produce(topic, "doc-1", "committed-2", headers).ok());
  ASSERT_TRUE(producer.commit_transaction(30s).ok());

  ASSERT_TRUE(producer.begin_transaction().ok());
  ASSERT_TRUE(producer.produce(topic, "doc-1", "aborted-1").ok());
  ASSERT_TRUE(producer.produce(topic, "doc-1", "aborted-2").ok());
  ASSERT_TRUE(
      producer.flush(10s).ok());  // the aborted records really reach the log before the abort
  ASSERT_TRUE(producer.abort_transaction(30s).ok());

  ASSERT_TRUE(producer.begin_transaction().ok());
  ASSERT_TRUE(producer.produce(topic, "doc-1", "committed-3").ok());
  ASSERT_TRUE(producer.commit_transaction(30s).ok());
  EXPECT_EQ(producer.deliveries().failed, 0U);

  auto consumer = make_consumer(unique_name("visibility-reader"));
  ASSERT_TRUE(consumer.subscribe({topic}).ok());
  auto got = consume(consumer, 3);
  EXPECT_EQ(values(got), (std::vector<std::string>{"committed-1", "committed-2", "committed-3"}));
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got[0].key, "doc-1");
  EXPECT_EQ(got[0].headers,
            (std::vector<Header>{{"ce_specversion", "1.0"}, {"ce_type", "patchstream.result.v1"}}));
  EXPECT_TRUE(consumer.close().ok());

  // An independent client agrees, and read_uncommitted shows the aborted records were written and
  // then filtered.
  EXPECT_EQ(kcat_values(topic, "read_committed"),
            (std::vector<std::string>{"committed-1", "committed-2", "committed-3"}));
  EXPECT_EQ(kcat_values(topic, "read_uncommitted"),
            (std::vector<std::string>{"committed-1", "committed-2", "aborted-1", "aborted-2",
                                      "committed-3"}));
}

TEST(KafkaBroker, SendOffsetsToTransactionCommitsConsumerOffsets) {
  auto input = create_topic("eos-in", 2);
  auto output = create_topic("eos-out", 2);
  auto group = unique_name("eos-group");

  auto seed = Producer::idempotent(client_config());
  ASSERT_TRUE(seed.ok()) << seed.error().to_string();
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(seed->produce(input, "doc-" + std::to_string(i), "in-" + std::to_string(i)).ok());
  }
  ASSERT_TRUE(seed->flush(10s).ok());
  ASSERT_EQ(seed->deliveries().delivered, 10U);

  std::vector<RebalanceKind> rebalances;
  auto consumer = make_consumer(
      group, [&](RebalanceKind kind, const PartitionOffsets&) { rebalances.push_back(kind); });
  ASSERT_TRUE(consumer.subscribe({input}).ok());
  auto producer = make_transactional(unique_name("eos-tx"));

  // Transaction 1 transforms the 10 inputs and commits their offsets atomically with the outputs.
  ASSERT_TRUE(producer.begin_transaction().ok());
  auto first = consume(consumer, 10, 200ms);
  ASSERT_EQ(first.size(), 10U);
  for (const auto& r : first) {
    ASSERT_TRUE(producer.produce(output, *r.key, "out-" + r.value).ok());
  }
  auto positions = consumer.positions();
  ASSERT_TRUE(positions.ok()) << positions.error().to_string();
  EXPECT_EQ(total_offset(positions.value()), 10);
  auto cgmd = consumer.group_metadata();
  ASSERT_TRUE(producer.send_offsets_to_transaction(positions.value(), cgmd.get(), 30s).ok());
  ASSERT_TRUE(producer.commit_transaction(30s).ok());

  auto committed = consumer.committed(10s);
  ASSERT_TRUE(committed.ok()) << committed.error().to_string();
  EXPECT_EQ(total_offset(committed.value()), 10);

  // Transaction 2 is aborted: its offsets are not committed, and the consumer rewinds to re-read
  // its inputs.
  for (int i = 10; i < 15; ++i) {
    ASSERT_TRUE(seed->produce(input, "doc-" + std::to_string(i), "in-" + std::to_string(i)).ok());
  }
  ASSERT_TRUE(seed->flush(10s).ok());
  ASSERT_TRUE(producer.begin_transaction().ok());
  auto second = consume(consumer, 5, 200ms);
  ASSERT_EQ(second.size(), 5U);
  for (const auto& r : second) {
    ASSERT_TRUE(producer.produce(output, *r.key, "out-" + r.value).ok());
  }
  positions = consumer.positions();
  ASSERT_TRUE(positions.ok());
  cgmd = consumer.group_metadata();
  ASSERT_TRUE(producer.send_offsets_to_transaction(positions.value(), cgmd.get(), 30s).ok());
  ASSERT_TRUE(producer.abort_transaction(30s).ok());
  committed = consumer.committed(10s);
  ASSERT_TRUE(committed.ok());
  EXPECT_EQ(total_offset(committed.value()), 10);

  ASSERT_TRUE(consumer.rewind_to_committed(10s).ok());
  auto replay = consume(consumer, 5, 300ms);
  EXPECT_EQ(values(replay).size(), 5U);
  auto sorted = [](std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  EXPECT_EQ(sorted(values(replay)), sorted(values(second)));

  EXPECT_TRUE(consumer.close().ok());
  ASSERT_FALSE(rebalances.empty());
  EXPECT_EQ(rebalances.front(), RebalanceKind::Assigned);
  EXPECT_EQ(rebalances.back(), RebalanceKind::Revoked);

  // Downstream (read_committed) sees exactly the outputs of transaction 1.
  auto reader = make_consumer(unique_name("eos-reader"));
  ASSERT_TRUE(reader.subscribe({output}).ok());
  auto outputs = consume(reader, 10);
  EXPECT_EQ(outputs.size(), 10U);
  for (const auto& r : outputs) {
    EXPECT_EQ(r.value.rfind("out-in-", 0), 0U);
    EXPECT_LT(std::stoi(r.value.substr(7)), 10);
  }
}

// Back-to-back transactions, each a burst of records and then its offsets, as the Kafka loop does
// when it is behind. Without the flush first, AddOffsetsToTxn raced the burst's
// AddPartitionsToTxn: the coordinator refused it with CONCURRENT_TRANSACTIONS and librdkafka
// retried only after retry.backoff.ms, 100 ms of every commit.
TEST(KafkaBroker, CommitWithOffsetsDoesNotRacePartitionRegistration) {
  auto input = create_topic("race-in", 1);
  auto output = create_topic("race-out", 3);
  auto seed = Producer::idempotent(client_config());
  ASSERT_TRUE(seed.ok()) << seed.error().to_string();
  ASSERT_TRUE(seed->produce(input, "k", "v").ok());
  ASSERT_TRUE(seed->flush(10s).ok());
  auto consumer = make_consumer(unique_name("race-group"));
  ASSERT_TRUE(consumer.subscribe({input}).ok());
  ASSERT_EQ(consume(consumer, 1, 100ms).size(), 1U);

  std::atomic<int> refused{0};
  KafkaConfig config = client_config();
  config["debug"] = "eos";  // AddOffsetsToTxn's answers are logged at debug level only
  ClientHooks hooks;
  hooks.on_log = [&refused](int, std::string_view, std::string_view message) {
    if (message.find("AddOffsetsToTxn response") != std::string_view::npos &&
        message.find("CONCURRENT_TRANSACTIONS") != std::string_view::npos)
      ++refused;
  };
  auto producer = Producer::transactional(config, unique_name("race-tx"), hooks);
  ASSERT_TRUE(producer.ok()) << producer.error().to_string();
  ASSERT_TRUE(producer->init_transactions(30s).ok());
  ASSERT_TRUE(producer->load_topics({output}, 10s).ok());
  constexpr int kTransactions = 20;
  constexpr int kRecords = 300;
  const std::string value(2000, 'x');
  for (int t = 0; t < kTransactions; ++t) {
    ASSERT_TRUE(producer->begin_transaction().ok());
    for (int i = 0; i < kRecords; ++i) {
      ASSERT_TRUE(producer->produce(output, "doc-" + std::to_string(i), value).ok());
    }
    auto positions = consumer.positions();
    ASSERT_TRUE(positions.ok());
    auto group = consumer.group_metadata();
    auto s = producer->commit_with_offsets(positions.value(), group.get(), 30s);
    ASSERT_TRUE(s.ok()) << s.error().to_string();
  }
  EXPECT_EQ(refused.load(), 0) << "AddOffsetsToTxn refused with CONCURRENT_TRANSACTIONS";
  EXPECT_EQ(producer->deliveries().delivered, static_cast<uint64_t>(kTransactions * kRecords));
  EXPECT_TRUE(consumer.close().ok());
}

TEST(KafkaBroker, PausedConsumerReceivesNothingUntilResumed) {
  auto topic = create_topic("pause", 1);
  auto seed = Producer::idempotent(client_config());
  ASSERT_TRUE(seed.ok()) << seed.error().to_string();
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(seed->produce(topic, "k", "v" + std::to_string(i)).ok());
  }
  ASSERT_TRUE(seed->flush(10s).ok());

  auto consumer = make_consumer(unique_name("pause-group"));
  ASSERT_TRUE(consumer.subscribe({topic}).ok());
  auto first = consume(consumer, 1, 0ms);
  ASSERT_FALSE(first.empty());
  ASSERT_TRUE(consumer.pause().ok());
  // What was fetched before the pause is dropped, not delivered: pausing is how backpressure stops
  // intake.
  auto while_paused = consume(consumer, 1, 0ms, 2s);
  EXPECT_TRUE(while_paused.empty()) << while_paused.size() << " records arrived while paused";
  ASSERT_TRUE(consumer.resume().ok());
  auto rest = consume(consumer, 3 - first.size(), 300ms);
  std::vector<std::string> all = values(first);
  for (const auto& v : values(rest)) {
    all.push_back(v);
  }
  EXPECT_EQ(all, (std::vector<std::string>{"v0", "v1", "v2"}));
}

// librdkafka 2.0 parks the fetcher once the prefetch queue is over queued.max.messages.kbytes and
// looks again only when its broker thread wakes (up to a second). With a 1 KiB queue and 4 KiB
// fetches every fetch parks it: 60 records of 2 KiB take 30 fetches, ~0.5-1 s each without
// waking (so well over the deadline below), a few milliseconds each with it.
TEST(KafkaBroker, WakingParkedFetchersDrainsABacklogAtOnce) {
  auto topic = create_topic("parked", 1);
  auto seed = Producer::idempotent(client_config());
  ASSERT_TRUE(seed.ok()) << seed.error().to_string();
  constexpr int kRecords = 60;
  const std::string payload(2048, 'x');
  for (int i = 0; i < kRecords; ++i) {
    ASSERT_TRUE(seed->produce(topic, "k", payload).ok());
    ASSERT_TRUE(seed->flush(10s).ok());  // one record per batch: a fetch returns whole batches
  }

  KafkaConfig config = client_config();
  config["queued.max.messages.kbytes"] = "1";
  config["max.partition.fetch.bytes"] = "4096";
  auto consumer = Consumer::create({config, unique_name("parked-group"), {}, {}});
  ASSERT_TRUE(consumer.ok()) << consumer.error().to_string();
  ASSERT_TRUE(consumer->subscribe({topic}).ok());

  int received = 0;
  std::size_t most_waiting = 0;
  const auto deadline = std::chrono::steady_clock::now() + 12s;
  while (received < kRecords && std::chrono::steady_clock::now() < deadline) {
    auto m = consumer->poll(20ms);
    ASSERT_TRUE(m.ok()) << m.error().to_string();
    if (m.value()) {
      ++received;
      continue;
    }
    auto waiting = consumer->wake_parked_fetchers(1s);
    ASSERT_TRUE(waiting.ok()) << waiting.error().to_string();
    most_waiting = std::max(most_waiting, waiting.value());
  }
  EXPECT_EQ(received, kRecords);
  EXPECT_EQ(most_waiting, 1U);  // the one partition, while records were waiting
  // Caught up: nothing waits, nothing is queried.
  auto after = consumer->wake_parked_fetchers(1s);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after.value(), 0U);
}

// Why the loop backs off (FetchWaker): while an upstream transaction is open, its records are
// under the high watermark but a read_committed consumer does not get them, so waking finds a
// partition "waiting" that delivers nothing until the transaction ends. (A commit marker does not
// count: librdkafka 2.0.2 moves the position past it.)
TEST(KafkaBroker, OpenUpstreamTransactionLooksLikeWaitingRecords) {
  auto topic = create_topic("open-txn", 1);
  auto upstream = make_transactional(unique_name("upstream"));
  ASSERT_TRUE(upstream.begin_transaction().ok());
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(upstream.produce(topic, "k", "committed").ok());
  ASSERT_TRUE(upstream.commit_transaction(30s).ok());

  auto consumer = make_consumer(unique_name("open-txn-group"));
  ASSERT_TRUE(consumer.subscribe({topic}).ok());
  EXPECT_EQ(consume(consumer, 3).size(), 3U);
  auto caught_up = consumer.wake_parked_fetchers(5s);
  ASSERT_TRUE(caught_up.ok()) << caught_up.error().to_string();
  EXPECT_EQ(caught_up.value(), 0U);  // past the commit marker

  ASSERT_TRUE(upstream.begin_transaction().ok());
  for (int i = 0; i < 2; ++i)
    ASSERT_TRUE(upstream.produce(topic, "k", "open").ok());
  ASSERT_TRUE(upstream.flush(10s).ok());
  EXPECT_TRUE(consume(consumer, 1, 0ms, 2s).empty());  // the fetch also learns the watermark
  auto waiting = consumer.wake_parked_fetchers(5s);
  ASSERT_TRUE(waiting.ok()) << waiting.error().to_string();
  EXPECT_EQ(waiting.value(), 1U);
  ASSERT_TRUE(upstream.commit_transaction(30s).ok());
  EXPECT_EQ(values(consume(consumer, 2)), (std::vector<std::string>{"open", "open"}));
}

TEST(KafkaBroker, SameTransactionalIdFencesThePredecessor) {
  auto topic = create_topic("fencing", 1);
  auto id = unique_name("fenced");
  auto old_instance = make_transactional(id);
  ASSERT_TRUE(old_instance.begin_transaction().ok());
  ASSERT_TRUE(old_instance.produce(topic, "k", "zombie").ok());
  ASSERT_TRUE(old_instance.flush(10s).ok());

  auto new_instance =
      make_transactional(id);  // bumps the epoch, aborting the predecessor's open transaction

  auto commit = old_instance.commit_transaction(10s);
  ASSERT_FALSE(commit.ok());
  EXPECT_TRUE(commit.error().fatal) << commit.error().to_string();
  EXPECT_TRUE(old_instance.fatal_error().has_value());

  ASSERT_TRUE(new_instance.begin_transaction().ok());
  ASSERT_TRUE(new_instance.produce(topic, "k", "successor").ok());
  ASSERT_TRUE(new_instance.commit_transaction(30s).ok());
  EXPECT_EQ(kcat_values(topic, "read_committed"), (std::vector<std::string>{"successor"}));
}

}  // namespace
}  // namespace patchstream::kafka
