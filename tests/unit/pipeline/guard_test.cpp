// The internal guards (SPEC §1 invariants 2, 3, 6, 7) fire: each test plants a bug in the layer
// under one guard and expects that guard's violation, a rejected batch and no crash.
#include <gtest/gtest.h>

#include <algorithm>

#include "pipeline/executor.h"
#include "pipeline/normalizer.h"
#include "pipeline_harness.h"

namespace patchstream {
namespace {

using testing::codes;
using testing::run_event;

constexpr std::string_view kEvent =
    R"({"batch_id":"b1","user_id":"u1","document_id":"d1","base_revision":3,)"
    R"("snapshot":["one","two","three"],"patches":[{"op":"replace","line":2,"lines":["TWO"]},)"
    R"({"op":"insert","line":4,"lines":["four","five"]},{"op":"delete","line":1}]})";

void expect_guard(const testing::Outcome& outcome, std::string_view code) {
  ASSERT_EQ(outcome.status, DecodeStatus::decoded);
  EXPECT_EQ(outcome.result["status"], "rejected") << outcome.result.dump();
  EXPECT_FALSE(outcome.result.contains("lines")) << outcome.result.dump();
  EXPECT_EQ(outcome.result["revision"], 3);
  const auto found = codes(outcome.result);
  EXPECT_NE(std::find(found.begin(), found.end(), code), found.end()) << outcome.result.dump();
}

TEST(InternalGuards, HealthyLayersPassEveryGuard) {
  const auto outcome = run_event(kEvent);
  EXPECT_EQ(outcome.result["status"], "applied") << outcome.result.dump();
  EXPECT_EQ(outcome.result["revision"], 4);
  EXPECT_EQ(outcome.result["lines"], (nlohmann::json{"TWO", "three", "four", "five"}));
}

TEST(InternalGuards, ExecutorThatDropsALineFailsTheSizeGuard) {
  auto layers = default_layers();
  layers.execute = [](std::span<const std::string_view> snapshot, std::span<const Patch> patches,
                      std::span<const std::string_view> patch_lines,
                      std::vector<std::string_view>& out) {
    execute(snapshot, patches, patch_lines, out);
    out.pop_back();
  };
  expect_guard(run_event(kEvent, {}, nullptr, layers), "snapshot_size_changed");
}

TEST(InternalGuards, ExecutorThatDuplicatesALineFailsTheSizeGuard) {
  auto layers = default_layers();
  layers.execute = [](std::span<const std::string_view> snapshot, std::span<const Patch> patches,
                      std::span<const std::string_view> patch_lines,
                      std::vector<std::string_view>& out) {
    execute(snapshot, patches, patch_lines, out);
    out.push_back(out.front());
  };
  expect_guard(run_event(kEvent, {}, nullptr, layers), "snapshot_size_changed");
}

TEST(InternalGuards, ExecutorThatWritesIntoTheSnapshotFailsTheImmutabilityGuard) {
  auto layers = default_layers();
  layers.execute = [](std::span<const std::string_view> snapshot, std::span<const Patch> patches,
                      std::span<const std::string_view> patch_lines,
                      std::vector<std::string_view>& out) {
    execute(snapshot, patches, patch_lines, out);
    // The bug: editing a line in place through its view (the decoder's buffer is writable).
    const_cast<char*>(snapshot[2].data())[0] = 'T';
  };
  expect_guard(run_event(kEvent, {}, nullptr, layers), "immutable_snapshot");
}

TEST(InternalGuards, WrongRevisionStepFailsTheRevisionGuard) {
  auto layers = default_layers();
  layers.next_revision = [](const Batch& batch, const StoredDocument*) -> std::int64_t {
    return batch.base_revision + 2;
  };
  const auto outcome = run_event(kEvent, {}, nullptr, layers);
  expect_guard(outcome, "revision_mismatch");
  EXPECT_NE(outcome.result.dump().find("internal invariant guard failed"), std::string::npos);
}

TEST(InternalGuards, NormalizerThatForgetsToSortFailsTheOrderGuard) {
  auto layers = default_layers();
  layers.normalize = [](std::vector<Patch>& patches, std::size_t length,
                        std::vector<Violation>& violations, std::size_t max) {
    const bool ok = normalize(patches, length, violations, max);
    std::reverse(patches.begin(), patches.end());  // the bug: ascending
    return ok;
  };
  expect_guard(run_event(kEvent, {}, nullptr, layers), "desc_order");
}

}  // namespace
}  // namespace patchstream
