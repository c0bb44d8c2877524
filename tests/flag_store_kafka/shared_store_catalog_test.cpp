// FlagCatalog over a store shared by several instances: external changes, cross-instance conflicts.
#include <gtest/gtest.h>

#include <map>

#include "flags/flag_catalog.h"

namespace patchstream::flags {
namespace {

// A shared store as another instance would leave it: the test plays the other instance by calling
// the listener and by making append() report a conflict.
class SharedStore final : public FlagStore {
 public:
  std::vector<FlagDefinition> load() override { return {}; }
  std::optional<std::string> append(const AuditRecord& record) override {
    if (conflict) return std::string(kRevisionConflict) + "flag '" + record.flag + "' is ahead";
    appended.push_back(record);
    return std::nullopt;
  }
  std::vector<AuditRecord> history(std::string_view) const override { return appended; }
  void on_external_change(std::function<void(const FlagDefinition&)> l) override {
    listener = std::move(l);
  }

  bool conflict = false;
  std::vector<AuditRecord> appended;
  std::function<void(const FlagDefinition&)> listener;
};

FlagDefinition definition(std::string name, int percentage, std::uint64_t revision,
                          std::string by = "other-instance") {
  FlagDefinition flag;
  flag.name = std::move(name);
  flag.enabled = true;
  flag.percentage = static_cast<std::uint8_t>(percentage);
  flag.revision = revision;
  flag.updated_by = std::move(by);
  flag.updated_at = "2026-01-01T00:00:00.000Z";
  normalize(flag);
  return flag;
}

ChangeRequest set_percentage(std::string name, int percentage, std::uint64_t revision) {
  ChangeRequest r;
  r.kind = ChangeKind::update;
  r.name = std::move(name);
  r.fields.percentage = static_cast<std::uint8_t>(percentage);
  r.fields.revision = revision;
  return r;
}

TEST(SharedStoreCatalog, NewerExternalDefinitionsArePublishedOlderOnesIgnored) {
  SharedStore store;
  FlagRegistry registry;
  FlagCatalog catalog(store, registry);
  ASSERT_TRUE(store.listener);

  store.listener(definition("f", 10, 1));
  EXPECT_EQ(registry.snapshot()->find("f")->percentage, 10);
  store.listener(definition("f", 25, 2));
  EXPECT_EQ(catalog.get("f")->percentage, 25);
  const auto generation = registry.generation();
  store.listener(definition("f", 10, 1));  // older: a replay or a slow delivery
  store.listener(definition("f", 25, 2));  // the same again: no new snapshot
  EXPECT_EQ(registry.generation(), generation);
  EXPECT_EQ(catalog.get("f")->revision, 2u);
}

TEST(SharedStoreCatalog, OwnWriteEchoedBackChangesNothing) {
  SharedStore store;
  FlagRegistry registry;
  FlagCatalog catalog(store, registry);
  store.listener(definition("f", 10, 1));
  auto changed = catalog.change(set_percentage("f", 50, 1));
  ASSERT_EQ(changed.status, ChangeStatus::applied) << changed.detail;
  const auto generation = registry.generation();
  store.listener(*changed.flag);
  EXPECT_EQ(registry.generation(), generation);
}

TEST(SharedStoreCatalog, SameRevisionWithOtherContentTakesTheLaterOne) {
  // Two instances both wrote revision 2; the store keeps (and delivers last) the later write.
  SharedStore store;
  FlagRegistry registry;
  FlagCatalog catalog(store, registry);
  store.listener(definition("f", 10, 1));
  ASSERT_EQ(catalog.change(set_percentage("f", 50, 1)).status, ChangeStatus::applied);
  store.listener(definition("f", 0, 2));
  EXPECT_EQ(catalog.get("f")->percentage, 0);
  EXPECT_EQ(registry.snapshot()->find("f")->percentage, 0);
}

TEST(SharedStoreCatalog, ConflictInTheStoreIsAStaleRevision) {
  SharedStore store;
  FlagRegistry registry;
  FlagCatalog catalog(store, registry);
  store.listener(definition("f", 10, 1));
  store.conflict = true;
  auto refused = catalog.change(set_percentage("f", 50, 1));
  EXPECT_EQ(refused.status, ChangeStatus::stale_revision);
  EXPECT_EQ(refused.error, "stale_revision");
  EXPECT_EQ(refused.current_revision, 2u);  // the store holds at least this one
  EXPECT_NE(refused.detail.find("is ahead"), std::string::npos);
  EXPECT_EQ(catalog.get("f")->percentage, 10);
}

TEST(SharedStoreCatalog, DeclarationRaceIsNotAStartupError) {
  SharedStore store;
  FlagRegistry registry;
  FlagCatalog catalog(store, registry);
  store.conflict = true;  // another instance declared it between load and declare
  std::vector<std::string> created;
  EXPECT_NO_THROW(created = catalog.declare({definition("g", 5, 0, "")}));
  EXPECT_TRUE(created.empty());
}

}  // namespace
}  // namespace patchstream::flags
