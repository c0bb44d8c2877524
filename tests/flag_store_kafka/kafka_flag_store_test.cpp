// KafkaFlagStore on the fixture broker: load, propagation between instances, history, conflicts.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <thread>

#include "broker_env.h"
#include "flag_store_kafka/kafka_flag_store.h"
#include "flags/flag_catalog.h"
#include "flags/flag_json.h"
#include "kafka/producer.h"

namespace patchstream::flags {
namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

// Collects what a store reports, so a test can both check it and show it on failure.
struct Reports {
  std::mutex mutex;
  std::vector<std::string> messages;
  StoreErrorCallback callback() {
    return [this](std::string_view message) {
      std::lock_guard lock(mutex);
      messages.emplace_back(message);
    };
  }
  std::size_t count_containing(std::string_view text) {
    std::lock_guard lock(mutex);
    return static_cast<std::size_t>(
        std::count_if(messages.begin(), messages.end(),
                      [&](const std::string& m) { return m.find(text) != std::string::npos; }));
  }
};

struct Topics {
  std::string flags = kafka::test::unique_name("flags");
  std::string audit = kafka::test::unique_name("flag-audit");
};

KafkaFlagStoreConfig store_config(const Topics& topics, Reports& reports) {
  KafkaFlagStoreConfig config;
  config.kafka = kafka::test::client_config();
  // The processor's own client settings: the store must ignore them.
  config.kafka["group.id"] = "the-processors-group";
  config.kafka["transactional.id"] = "processor-1";
  config.kafka["fetch.wait.max.ms"] = "500";
  config.flags_topic = topics.flags;
  config.audit_topic = topics.audit;
  config.on_error = reports.callback();
  config.timeout = 10s;
  return config;
}

ChangeRequest put(std::string name, int percentage, std::optional<std::uint64_t> revision) {
  ChangeRequest r;
  r.kind = ChangeKind::replace;
  r.name = std::move(name);
  r.fields.enabled = true;
  r.fields.percentage = static_cast<std::uint8_t>(percentage);
  r.fields.revision = revision;
  r.fields.reason = "wave";
  r.actor = "alice";
  return r;
}

ChangeRequest set_percentage(std::string name, int percentage, std::uint64_t revision) {
  ChangeRequest r;
  r.kind = ChangeKind::update;
  r.name = std::move(name);
  r.fields.percentage = static_cast<std::uint8_t>(percentage);
  r.fields.revision = revision;
  r.actor = "bob";
  return r;
}

FlagDefinition declared(std::string name, int percentage) {
  FlagDefinition flag;
  flag.name = std::move(name);
  flag.enabled = true;
  flag.percentage = static_cast<std::uint8_t>(percentage);
  return flag;
}

// Waits until `registry` holds `name` at `revision` or later; the time it took, or nullopt.
std::optional<std::chrono::microseconds> wait_for_revision(const FlagRegistry& registry,
                                                           const std::string& name,
                                                           std::uint64_t revision,
                                                           SteadyClock::time_point since,
                                                           std::chrono::seconds limit = 10s) {
  while (SteadyClock::now() - since < limit) {
    const auto snapshot = registry.snapshot();
    if (const auto* flag = snapshot->find(name); flag != nullptr && flag->revision >= revision) {
      return std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - since);
    }
    std::this_thread::sleep_for(200us);
  }
  return std::nullopt;
}

// One processor instance's flag stack: its store on the shared topics, registry and catalog.
struct Instance {
  explicit Instance(const Topics& topics)
      : store(store_config(topics, reports)), catalog(store, registry) {}
  Reports reports;
  KafkaFlagStore store;
  FlagRegistry registry;
  FlagCatalog catalog;
};

double millis(std::chrono::microseconds t) {
  return static_cast<double>(t.count()) / 1000.0;
}

TEST(KafkaFlagStore, LoadsTheLastDefinitionPerFlagFromAnExistingTopic) {
  Topics topics;
  topics.flags = kafka::test::create_topic("flags", 2, true);
  topics.audit = kafka::test::create_topic("flag-audit");
  auto producer = kafka::Producer::idempotent(kafka::test::client_config());
  ASSERT_TRUE(producer) << producer.error().to_string();
  FlagDefinition a;
  a.name = "alpha";
  a.enabled = true;
  a.percentage = 10;
  a.revision = 1;
  normalize(a);
  FlagDefinition a2 = a;
  a2.percentage = 25;
  a2.revision = 2;
  FlagDefinition b = a;
  b.name = "beta";
  b.group_id = "beta";
  for (const auto& flag : {a, b, a2}) {
    ASSERT_TRUE(producer->produce(topics.flags, flag.name, to_json(flag).dump()));
  }
  ASSERT_TRUE(producer->produce(topics.flags, "gamma", "{not json"));
  ASSERT_TRUE(producer->flush(10s));
  ASSERT_EQ(producer->deliveries().delivered, 4u);

  Reports reports;
  auto config = store_config(topics, reports);
  config.create_topics = false;
  KafkaFlagStore store(config);
  auto loaded = store.load();
  ASSERT_EQ(loaded.size(), 2u);
  EXPECT_EQ(loaded[0], a2);
  EXPECT_EQ(loaded[1], b);
  EXPECT_EQ(reports.count_containing("skipping flags record"), 1u);
  EXPECT_EQ(store.followed_records(), 0u);
}

TEST(KafkaFlagStore, EmptyTopicsAreCreatedAndLoadEmpty) {
  Topics topics;
  Reports reports;
  KafkaFlagStore store(store_config(topics, reports));
  EXPECT_TRUE(store.load().empty());
  EXPECT_TRUE(store.history("nothing").empty());
}

TEST(KafkaFlagStore, StartupErrorsAreExceptions) {
  Topics topics;
  Reports reports;
  auto config = store_config(topics, reports);
  config.audit_topic = config.flags_topic;
  EXPECT_THROW(KafkaFlagStore{config}, std::invalid_argument);
  config = store_config(topics, reports);
  config.kafka.erase("bootstrap.servers");
  EXPECT_THROW(KafkaFlagStore{config}, std::invalid_argument);

  // Nothing listens on port 1: load() gives up after the timeout instead of hanging.
  config = store_config(topics, reports);
  config.kafka["bootstrap.servers"] = "127.0.0.1:1";
  config.timeout = 1s;
  KafkaFlagStore store(config);
  const auto start = SteadyClock::now();
  EXPECT_THROW(store.load(), std::runtime_error);
  EXPECT_LT(SteadyClock::now() - start, 30s);
  EXPECT_TRUE(store.append(AuditRecord{}).has_value());  // not loaded: an error, not a crash
}

TEST(KafkaFlagStore, ChangeThroughOneInstanceReachesTheOther) {
  Topics topics;
  Instance a(topics);
  Instance b(topics);

  auto created = a.catalog.change(put("batch-patches-v1", 10, std::nullopt));
  ASSERT_EQ(created.status, ChangeStatus::applied) << created.detail;
  ASSERT_TRUE(wait_for_revision(b.registry, "batch-patches-v1", 1, SteadyClock::now()));

  // Propagation: from the change request on A to B's registry publishing it (A's durable write,
  // B's fetch, B's dispatch and snapshot).
  constexpr int kChanges = 20;
  std::vector<std::chrono::microseconds> propagation;
  std::vector<std::chrono::microseconds> write;
  std::uint64_t revision = 1;
  for (int i = 0; i < kChanges; ++i) {
    const int percentage = (i * 5) % 101;
    const auto start = SteadyClock::now();
    auto changed = a.catalog.change(set_percentage("batch-patches-v1", percentage, revision));
    write.push_back(
        std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - start));
    ASSERT_EQ(changed.status, ChangeStatus::applied) << changed.detail;
    revision = changed.flag->revision;
    auto seen = wait_for_revision(b.registry, "batch-patches-v1", revision, start);
    ASSERT_TRUE(seen) << "revision " << revision << " never reached instance B";
    propagation.push_back(*seen);
    EXPECT_EQ(b.registry.snapshot()->find("batch-patches-v1")->percentage, percentage);
    std::this_thread::sleep_for(20ms);  // an idle follower, as between real changes
  }
  std::sort(propagation.begin(), propagation.end());
  std::sort(write.begin(), write.end());
  std::printf(
      "[ figures  ] flag change A -> B over %d changes: p50 %.1f ms, max %.1f ms "
      "(A's durable write: p50 %.1f ms, max %.1f ms)\n",
      kChanges, millis(propagation[kChanges / 2]), millis(propagation.back()),
      millis(write[kChanges / 2]), millis(write.back()));

  // Instance A's own writes come back through its follower without republishing anything new.
  EXPECT_EQ(a.catalog.get("batch-patches-v1"), b.catalog.get("batch-patches-v1"));
  EXPECT_GE(a.store.followed_records(), static_cast<std::uint64_t>(kChanges));

  // And the other way round: a rollback on B (the runbook call, no revision) reaches A.
  ChangeRequest rollback = set_percentage("batch-patches-v1", 0, 0);
  rollback.fields.revision.reset();
  auto rolled_back = b.catalog.change(rollback);
  ASSERT_EQ(rolled_back.status, ChangeStatus::applied) << rolled_back.detail;
  ASSERT_TRUE(wait_for_revision(a.registry, "batch-patches-v1", rolled_back.flag->revision,
                                SteadyClock::now()));
  EXPECT_EQ(a.registry.snapshot()->find("batch-patches-v1")->percentage, 0);
}

TEST(KafkaFlagStore, HistorySurvivesARestart) {
  Topics topics;
  Reports reports;
  {
    KafkaFlagStore store(store_config(topics, reports));
    FlagRegistry registry;
    FlagCatalog catalog(store, registry);
    ASSERT_EQ(catalog.declare({declared("other", 0)}).size(), 1u);
    ASSERT_EQ(catalog.change(put("f", 10, std::nullopt)).status, ChangeStatus::applied);
    ASSERT_EQ(catalog.change(set_percentage("f", 25, 1)).status, ChangeStatus::applied);
    ASSERT_EQ(catalog.change(set_percentage("f", 50, 2)).status, ChangeStatus::applied);
    ASSERT_EQ(catalog.rollback("f", "alert", "alertmanager").status, ChangeStatus::applied);
  }
  KafkaFlagStore store(store_config(topics, reports));
  FlagRegistry registry;
  FlagCatalog catalog(store, registry);
  EXPECT_EQ(catalog.get("f")->revision, 4u);
  EXPECT_EQ(registry.snapshot()->find("f")->percentage, 0);
  auto history = catalog.history("f");
  ASSERT_TRUE(history);
  ASSERT_EQ(history->size(), 4u);
  const std::vector<std::string> actions{"create", "update", "update", "rollback"};
  const std::vector<int> percentages{10, 25, 50, 0};
  for (std::size_t i = 0; i < history->size(); ++i) {
    const auto& record = (*history)[i];
    EXPECT_EQ(record.revision, i + 1);
    EXPECT_EQ(record.action, actions[i]);
    EXPECT_EQ(record.after.percentage, percentages[i]);
    EXPECT_EQ(record.before.has_value(), i > 0);
    if (i > 0) {
      EXPECT_EQ(record.before->percentage, percentages[i - 1]);
    }
  }
  EXPECT_EQ(history->back().by, "alertmanager");
  EXPECT_EQ(history->back().reason, "alert");
  EXPECT_EQ(catalog.history("other")->size(), 1u);
}

TEST(KafkaFlagStore, StaleRevisionAcrossInstancesIsRefused) {
  Topics topics;
  Instance a(topics);
  Instance b(topics);
  ASSERT_EQ(a.catalog.change(put("f", 10, std::nullopt)).status, ChangeStatus::applied);
  ASSERT_TRUE(wait_for_revision(b.registry, "f", 1, SteadyClock::now()));

  // Both instances accept a change based on revision 1; B asks right after A wrote revision 2,
  // before (or while) B's follower delivers it. Either B's catalog or B's store refuses it.
  ASSERT_EQ(a.catalog.change(set_percentage("f", 25, 1)).status, ChangeStatus::applied);
  auto stale = b.catalog.change(set_percentage("f", 50, 1));
  EXPECT_EQ(stale.status, ChangeStatus::stale_revision) << stale.detail;

  // The store's own check, without the catalog's: a record for revision 2 after revision 2 exists.
  FlagDefinition after = *a.catalog.get("f");
  after.percentage = 75;
  AuditRecord record{"f", 2, after.updated_at, "carol", "late", "update", std::nullopt, after};
  auto error = b.store.append(record);
  ASSERT_TRUE(error);
  EXPECT_TRUE(error->starts_with(kRevisionConflict)) << *error;
  EXPECT_NE(error->find("revision 2"), std::string::npos) << *error;

  // Nothing of B's attempts reached A, the topic or the trail.
  ASSERT_TRUE(wait_for_revision(b.registry, "f", 2, SteadyClock::now()));
  EXPECT_EQ(a.registry.snapshot()->find("f")->percentage, 25);
  EXPECT_EQ(b.registry.snapshot()->find("f")->percentage, 25);
  EXPECT_EQ(b.catalog.history("f")->size(), 2u);

  // A declaration racing another instance's is not a startup error.
  ASSERT_EQ(a.catalog.change(put("g", 5, std::nullopt)).status, ChangeStatus::applied);
  // B may not have it yet: declare then must not throw, and never overwrites.
  EXPECT_NO_THROW(b.catalog.declare({declared("g", 99)}));
  ASSERT_TRUE(wait_for_revision(b.registry, "g", 1, SteadyClock::now()));
  EXPECT_EQ(b.registry.snapshot()->find("g")->percentage, 5);
}

TEST(KafkaFlagStore, ConcurrentWritersConvergeOnWhatTheTopicKeeps) {
  Topics topics;
  Instance a(topics);
  Instance b(topics);
  ASSERT_EQ(a.catalog.change(put("f", 1, std::nullopt)).status, ChangeStatus::applied);
  ASSERT_TRUE(wait_for_revision(b.registry, "f", 1, SteadyClock::now()));

  // Both instances change the flag as fast as they can, each based on what it currently sees: many
  // changes race another instance's change based on the same revision.
  constexpr int kAttempts = 25;
  std::atomic<int> applied{0};
  std::atomic<int> stale{0};
  std::atomic<int> other{0};
  auto writer = [&](FlagCatalog& catalog, int base) {
    for (int i = 0; i < kAttempts; ++i) {
      const auto current = catalog.get("f");
      auto outcome = catalog.change(set_percentage("f", base + i, current->revision));
      auto& counter = outcome.status == ChangeStatus::applied          ? applied
                      : outcome.status == ChangeStatus::stale_revision ? stale
                                                                       : other;
      ++counter;
    }
  };
  std::thread writer_a(writer, std::ref(a.catalog), 0);
  std::thread writer_b(writer, std::ref(b.catalog), 50);
  writer_a.join();
  writer_b.join();
  std::printf("[ figures  ] concurrent writers: %d applied, %d refused as stale, %d other\n",
              applied.load(), stale.load(), other.load());
  EXPECT_EQ(other.load(), 0);
  EXPECT_GT(applied.load(), 0);

  // Quiet again: both instances and a fresh one agree with the topic.
  Instance fresh(topics);
  const auto expected = fresh.catalog.get("f");
  ASSERT_TRUE(expected);
  const auto deadline = SteadyClock::now() + 10s;
  while ((a.catalog.get("f") != expected || b.catalog.get("f") != expected) &&
         SteadyClock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(a.catalog.get("f"), expected);
  EXPECT_EQ(b.catalog.get("f"), expected);
  EXPECT_EQ(*a.registry.snapshot()->find("f"), *expected);
  EXPECT_EQ(*b.registry.snapshot()->find("f"), *expected);
  // Every applied change is in the trail exactly once, with consecutive revisions: two writes based
  // on the same revision never both commit (the writers' shared transactional id fences one).
  const auto history = fresh.catalog.history("f");
  ASSERT_EQ(history->size(), static_cast<std::size_t>(applied.load()) + 1);
  for (std::size_t i = 0; i < history->size(); ++i) {
    EXPECT_EQ((*history)[i].revision, i + 1);
  }
  EXPECT_EQ(expected->revision, history->size());
}

}  // namespace
}  // namespace patchstream::flags
