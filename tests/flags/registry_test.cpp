// Snapshot swaps while readers evaluate: run under -DPATCHSTREAM_SANITIZE=thread to check races.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "flags/flag_catalog.h"
#include "flags/flag_registry.h"
#include "flags/memory_flag_store.h"

namespace patchstream::flags {
namespace {

std::shared_ptr<const FlagSnapshot> snapshot_at(int percentage) {
  FlagDefinition f;
  f.name = "f";
  f.enabled = true;
  f.percentage = static_cast<std::uint8_t>(percentage);
  // Every snapshot is internally consistent: the reason says which percentage it carries.
  f.reason = std::to_string(percentage);
  return std::make_shared<const FlagSnapshot>(std::vector<FlagDefinition>{f});
}

TEST(Registry, ReadersSeeWholeSnapshotsWhileWritersSwap) {
  FlagRegistry registry(snapshot_at(0));
  std::atomic<bool> stop{false};
  std::atomic<long> evaluations{0};
  std::atomic<long> live_evaluations{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&, t] {
      FlagReader reader(registry);
      long count = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        const FlagSnapshot& snapshot = reader.current();
        const FlagDefinition* f = snapshot.find("f");
        ASSERT_NE(f, nullptr);
        ASSERT_EQ(f->reason, std::to_string(f->percentage));
        const Decision d = evaluate_flag(snapshot, "f", "user-" + std::to_string(count % 97 + t));
        ASSERT_EQ(d.percentage, f->percentage);
        ++count;
        live_evaluations.fetch_add(1, std::memory_order_relaxed);
      }
      evaluations += count;
    });
  }
  // One thread through the shared-pointer path too.
  readers.emplace_back([&] {
    while (!stop.load(std::memory_order_relaxed)) {
      ASSERT_LE(registry.evaluate("f", "u").percentage, 100);
    }
  });
  // On a loaded two-core machine the writer can finish before any reader is scheduled, so keep
  // swapping until the readers have overlapped with the writer for a while.
  // The deadline keeps a failed (returned) reader from hanging the test.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  int published = 0;
  while (published < 2000 || (live_evaluations.load(std::memory_order_relaxed) < 20000 &&
                              std::chrono::steady_clock::now() < deadline)) {
    registry.publish(snapshot_at(published % 101));
    ++published;
    if (published % 256 == 0) std::this_thread::yield();
  }
  stop = true;
  for (auto& reader : readers)
    reader.join();
  EXPECT_GE(evaluations.load(), 20000);
  EXPECT_EQ(registry.generation(), static_cast<std::uint64_t>(published));
}

TEST(Registry, ReaderPicksUpTheLatestPublish) {
  FlagRegistry registry(snapshot_at(0));
  FlagReader reader(registry);
  EXPECT_EQ(reader.evaluate("f", "u").percentage, 0);
  registry.publish(snapshot_at(40));
  EXPECT_EQ(reader.evaluate("f", "u").percentage, 40);
}

TEST(Registry, CatalogChangesFromManyThreadsGetConsecutiveRevisions) {
  MemoryFlagStore store;
  FlagRegistry registry;
  FlagCatalog catalog(store, registry);
  ChangeRequest create;
  create.kind = ChangeKind::replace;
  create.name = "f";
  ASSERT_EQ(catalog.change(create).status, ChangeStatus::applied);
  std::vector<std::thread> writers;
  std::atomic<bool> stop{false};
  std::thread reader([&] {
    FlagReader r(registry);
    while (!stop)
      (void)r.evaluate("f", "u");
  });
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&] {
      for (int i = 0; i < 50; ++i)
        (void)catalog.rollback("f", "", "t");
    });
  }
  for (auto& w : writers)
    w.join();
  stop = true;
  reader.join();
  EXPECT_EQ(catalog.get("f")->revision, 201u);
  const auto history = *catalog.history("f");
  for (std::size_t i = 0; i < history.size(); ++i)
    EXPECT_EQ(history[i].revision, i + 1);
}

}  // namespace
}  // namespace patchstream::flags
