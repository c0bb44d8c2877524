// The catalog over the file store: revisions, the runbook exception, audit history, crash safety.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "flags/atomic_file.h"
#include "flags/file_flag_store.h"
#include "flags/flag_catalog.h"
#include "flags/memory_flag_store.h"
#include "temp_directory.h"

namespace patchstream::flags {
namespace {

using testing::TempDirectory;

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::chrono::system_clock::time_point fixed_time() {
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(1'795'000'000'123));
}

ChangeRequest put(std::string name, int percentage, std::optional<std::uint64_t> revision,
                  bool enabled = true) {
  ChangeRequest r;
  r.kind = ChangeKind::replace;
  r.name = std::move(name);
  r.fields.enabled = enabled;
  r.fields.percentage = static_cast<std::uint8_t>(percentage);
  r.fields.revision = revision;
  r.actor = "alice";
  r.fields.reason = "wave";
  return r;
}

ChangeRequest update_percentage(std::string name, int percentage,
                                std::optional<std::uint64_t> revision) {
  ChangeRequest r;
  r.kind = ChangeKind::update;
  r.name = std::move(name);
  r.fields.percentage = static_cast<std::uint8_t>(percentage);
  r.fields.revision = revision;
  r.actor = "bob";
  return r;
}

TEST(FormatUtc, Rfc3339WithMilliseconds) {
  EXPECT_EQ(format_utc(fixed_time()), "2026-11-18T11:06:40.123Z");
}

TEST(Catalog, CreateUpdateAndPublish) {
  MemoryFlagStore store;
  FlagRegistry registry;
  FlagCatalog catalog(store, registry, fixed_time);
  auto created = catalog.change(put("batch-patches-v1", 100, std::nullopt));
  ASSERT_EQ(created.status, ChangeStatus::applied) << created.detail;
  EXPECT_EQ(created.flag->revision, 1u);
  EXPECT_EQ(created.flag->updated_by, "alice");
  EXPECT_EQ(created.flag->updated_at, "2026-11-18T11:06:40.123Z");
  EXPECT_EQ(created.flag->group_id, "batch-patches-v1");
  EXPECT_TRUE(registry.evaluate("batch-patches-v1", "u-1").pipeline);

  auto updated = catalog.change(update_percentage("batch-patches-v1", 0, 1));
  ASSERT_EQ(updated.status, ChangeStatus::applied);
  EXPECT_EQ(updated.flag->revision, 2u);
  EXPECT_TRUE(updated.flag->enabled);  // partial: untouched fields stay
  EXPECT_FALSE(registry.evaluate("batch-patches-v1", "u-1").pipeline);
}

TEST(Catalog, StaleAndMissingRevisionsAreRefused) {
  MemoryFlagStore store;
  FlagRegistry registry;
  FlagCatalog catalog(store, registry);
  ASSERT_EQ(catalog.change(put("f", 10, std::nullopt)).status, ChangeStatus::applied);
  ASSERT_EQ(catalog.change(update_percentage("f", 25, 1)).status, ChangeStatus::applied);

  auto stale = catalog.change(update_percentage("f", 50, 1));
  EXPECT_EQ(stale.status, ChangeStatus::stale_revision);
  EXPECT_EQ(stale.error, "stale_revision");
  EXPECT_EQ(stale.current_revision, 2u);
  auto missing = catalog.change(update_percentage("f", 50, std::nullopt));
  EXPECT_EQ(missing.status, ChangeStatus::stale_revision);
  EXPECT_EQ(missing.error, "revision_required");
  auto replace_stale = catalog.change(put("f", 50, 0));
  EXPECT_EQ(replace_stale.status, ChangeStatus::stale_revision);
  EXPECT_EQ(catalog.get("f")->percentage, 25);  // nothing overwritten
  EXPECT_EQ(catalog.history("f")->size(), 2u);

  // Creating names revision 0 or none; naming another is stale.
  EXPECT_EQ(catalog.change(put("g", 10, 3)).status, ChangeStatus::stale_revision);
  EXPECT_EQ(catalog.change(put("g", 10, 0)).status, ChangeStatus::applied);
}

TEST(Catalog, RunbookRollbackWinsWithoutRevision) {
  MemoryFlagStore store;
  FlagRegistry registry;
  FlagCatalog catalog(store, registry);
  ASSERT_EQ(catalog.change(put("batch-patches-v1", 50, std::nullopt)).status,
            ChangeStatus::applied);
  // {"name":"batch-patches-v1","percentage":0} with no revision, and with a stale one.
  auto rollback = catalog.change(update_percentage("batch-patches-v1", 0, std::nullopt));
  ASSERT_EQ(rollback.status, ChangeStatus::applied) << rollback.detail;
  EXPECT_EQ(rollback.flag->percentage, 0);
  EXPECT_EQ(rollback.flag->revision, 2u);
  EXPECT_EQ(catalog.change(update_percentage("batch-patches-v1", 0, 1)).status,
            ChangeStatus::applied);
  // Anything more than percentage 0 needs the revision.
  ChangeRequest widen = update_percentage("batch-patches-v1", 0, std::nullopt);
  widen.fields.enabled = true;
  EXPECT_EQ(catalog.change(widen).status, ChangeStatus::stale_revision);
  EXPECT_EQ(catalog.change(update_percentage("batch-patches-v1", 10, std::nullopt)).status,
            ChangeStatus::stale_revision);

  auto explicit_rollback = catalog.rollback("batch-patches-v1", "CRITICAL alert", "alerting");
  ASSERT_EQ(explicit_rollback.status, ChangeStatus::applied);
  EXPECT_EQ(explicit_rollback.flag->reason, "CRITICAL alert");
  EXPECT_EQ(catalog.history("batch-patches-v1")->back().action, "rollback");
  EXPECT_EQ(catalog.rollback("nope", "", "x").status, ChangeStatus::not_found);
}

TEST(Catalog, InvalidChangesAreRefused) {
  MemoryFlagStore store;
  FlagRegistry registry;
  FlagCatalog catalog(store, registry);
  EXPECT_EQ(catalog.change(put("bad name", 1, std::nullopt)).status, ChangeStatus::invalid);
  ChangeRequest mismatch = put("f", 1, std::nullopt);
  mismatch.fields.name = "g";
  EXPECT_EQ(catalog.change(mismatch).status, ChangeStatus::invalid);
  ChangeRequest bad_actor = put("f", 1, std::nullopt);
  bad_actor.actor = "line\nbreak";
  EXPECT_EQ(catalog.change(bad_actor).status, ChangeStatus::invalid);
  EXPECT_EQ(catalog.change(update_percentage("unknown", 1, 0)).status, ChangeStatus::not_found);
  EXPECT_TRUE(catalog.list().empty());
}

TEST(Catalog, DeclarationsCreateButNeverOverwrite) {
  MemoryFlagStore store;
  FlagRegistry registry;
  FlagCatalog catalog(store, registry);
  ASSERT_EQ(catalog.change(put("existing", 75, std::nullopt)).status, ChangeStatus::applied);
  FlagDefinition existing;
  existing.name = "existing";
  existing.percentage = 10;
  FlagDefinition fresh;
  fresh.name = "fresh";
  fresh.enabled = true;
  fresh.percentage = 10;
  EXPECT_EQ(catalog.declare({existing, fresh}), std::vector<std::string>{"fresh"});
  EXPECT_EQ(catalog.get("existing")->percentage, 75);
  EXPECT_EQ(catalog.get("fresh")->revision, 1u);
  EXPECT_EQ(catalog.get("fresh")->updated_by, "config");
  EXPECT_EQ(catalog.history("fresh")->front().action, "declare");
  EXPECT_TRUE(registry.snapshot()->find("fresh") != nullptr);
  FlagDefinition invalid;
  invalid.name = "-bad";
  EXPECT_THROW(catalog.declare({invalid}), std::invalid_argument);
}

TEST(FileStore, HistoryIsOrderedAndSurvivesRestart) {
  TempDirectory dir;
  {
    FileFlagStore store({dir.path(), {}});
    FlagRegistry registry;
    FlagCatalog catalog(store, registry);
    ASSERT_EQ(catalog.change(put("f", 10, std::nullopt)).status, ChangeStatus::applied);
    ASSERT_EQ(catalog.change(update_percentage("f", 25, 1)).status, ChangeStatus::applied);
    ASSERT_EQ(catalog.change(update_percentage("f", 50, 2)).status, ChangeStatus::applied);
    ASSERT_EQ(catalog.change(put("g", 5, std::nullopt)).status, ChangeStatus::applied);
  }
  FileFlagStore store({dir.path(), {}});
  FlagRegistry registry;
  FlagCatalog catalog(store, registry);
  EXPECT_EQ(catalog.get("f")->percentage, 50);
  EXPECT_EQ(catalog.get("f")->revision, 3u);
  EXPECT_EQ(registry.snapshot()->find("f")->percentage, 50);
  auto history = *catalog.history("f");
  ASSERT_EQ(history.size(), 3u);
  for (std::size_t i = 0; i < history.size(); ++i) {
    EXPECT_EQ(history[i].revision, i + 1);
    EXPECT_EQ(history[i].after.revision, i + 1);
  }
  EXPECT_FALSE(history[0].before.has_value());
  EXPECT_EQ(history[1].before->percentage, 10);
  EXPECT_EQ(history[1].after.percentage, 25);
  EXPECT_EQ(history[2].by, "bob");
  EXPECT_EQ(history[0].reason, "wave");
  auto last_two = *catalog.history("f", 2);
  ASSERT_EQ(last_two.size(), 2u);
  EXPECT_EQ(last_two[0].revision, 2u);
  EXPECT_FALSE(catalog.history("missing").has_value());
}

// Crash between writing the temp file and renaming it: the old file is intact and readable.
TEST(AtomicFile, CrashBeforeRenameKeepsTheOldContents) {
  TempDirectory dir;
  const auto path = dir.path() / "state.json";
  ASSERT_FALSE(replace_file_atomically(path, "old").has_value());
  struct Crash {};
  EXPECT_THROW(replace_file_atomically(path, "new", [] { throw Crash{}; }), Crash);
  EXPECT_EQ(read_file(path), "old");
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "state.json.tmp"));  // the torn attempt
  ASSERT_FALSE(replace_file_atomically(path, "newer").has_value());
  EXPECT_EQ(read_file(path), "newer");
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "state.json.tmp"));
}

// The same crash inside the store: the state file keeps the previous state, and because the
// history line was already durable, a restart recovers the change by replaying it.
TEST(FileStore, CrashBetweenWriteAndRenameLosesNothingCommitted) {
  TempDirectory dir;
  struct Crash {};
  bool crash = false;
  {
    FileFlagStore store({dir.path(), [&crash] {
                           if (crash) throw Crash{};
                         }});
    FlagRegistry registry;
    FlagCatalog catalog(store, registry);
    ASSERT_EQ(catalog.change(put("f", 10, std::nullopt)).status, ChangeStatus::applied);
    const std::string state_before = read_file(store.state_path());
    crash = true;
    EXPECT_THROW(catalog.change(update_percentage("f", 25, 1)), Crash);
    // The previous state is intact on disk: the crash never exposes a half-written file.
    EXPECT_EQ(read_file(store.state_path()), state_before);
    EXPECT_NE(state_before.find("\"percentage\": 10"), std::string::npos);
  }
  FileFlagStore store({dir.path(), {}});
  FlagRegistry registry;
  FlagCatalog catalog(store, registry);
  EXPECT_EQ(catalog.get("f")->percentage, 25);  // replayed from the history
  EXPECT_EQ(catalog.get("f")->revision, 2u);
  EXPECT_EQ(catalog.history("f")->size(), 2u);
  // The replay also rewrote the checkpoint.
  EXPECT_NE(read_file(store.state_path()).find("\"percentage\": 25"), std::string::npos);
}

TEST(FileStore, TornHistoryLineIsDroppedAndAppendsContinue) {
  TempDirectory dir;
  {
    FileFlagStore store({dir.path(), {}});
    FlagRegistry registry;
    FlagCatalog catalog(store, registry);
    ASSERT_EQ(catalog.change(put("f", 10, std::nullopt)).status, ChangeStatus::applied);
  }
  {
    std::ofstream history(dir.path() / "flags-history.jsonl", std::ios::app);
    history << R"({"flag":"f","revision":2,"after":{"na)";  // a crash mid-append
  }
  FileFlagStore store({dir.path(), {}});
  FlagRegistry registry;
  FlagCatalog catalog(store, registry);
  EXPECT_EQ(catalog.get("f")->revision, 1u);
  ASSERT_EQ(catalog.change(update_percentage("f", 20, 1)).status, ChangeStatus::applied);
  FileFlagStore reopened({dir.path(), {}});
  FlagRegistry registry2;
  FlagCatalog catalog2(reopened, registry2);
  EXPECT_EQ(catalog2.history("f")->size(), 2u);
  EXPECT_EQ(reopened.skipped_history_lines(), 0u);
}

TEST(FileStore, CorruptStateIsAStartupError) {
  TempDirectory dir;
  std::ofstream(dir.path() / "flags-state.json") << "{not json";
  FileFlagStore store({dir.path(), {}});
  FlagRegistry registry;
  EXPECT_THROW(FlagCatalog(store, registry), std::runtime_error);
}

}  // namespace
}  // namespace patchstream::flags
