// Normalizer and invariant guards: every violation code of SPEC §1 has a test that produces it.
#include <gtest/gtest.h>

#include "pipeline/invariants.h"
#include "pipeline/normalizer.h"
#include "pipeline_harness.h"

namespace patchstream::testing {
namespace {

std::string batch(std::string_view patches, std::string_view snapshot = R"(["a","b","c"])") {
  return std::string(
             R"({"batch_id":"b","user_id":"u","document_id":"d","base_revision":3,"snapshot":)") +
         std::string(snapshot) + R"(,"patches":)" + std::string(patches) + "}";
}

TEST(SpecExample, GivesExactlyTheDocumentedResult) {
  const Outcome o = run_event(
      R"({"batch_id":"b-000123","user_id":"u-42","document_id":"doc-7","base_revision":3,)"
      R"("snapshot":["line one","line two","line three"],"patches":[)"
      R"({"op":"replace","line":2,"lines":["LINE TWO"]},{"op":"insert","line":4,"lines":["appended"]},)"
      R"({"op":"delete","line":1}]})");
  nlohmann::json r = o.result;
  ASSERT_TRUE(r["timings_us"].is_object());
  for (const char* k : {"parse", "normalize", "execute", "total"})
    ASSERT_TRUE(r["timings_us"][k].is_number_unsigned());
  r.erase("timings_us");
  EXPECT_EQ(r, nlohmann::json::parse(R"({
    "batch_id": "b-000123", "user_id": "u-42", "document_id": "doc-7",
    "status": "applied", "base_revision": 3, "revision": 4,
    "lines": ["LINE TWO", "line three", "appended"],
    "patches_applied": 3, "violations": [], "route": "pipeline", "flag": null})"));
}

TEST(SpecExample, RejectedBatchKeepsTheRevisionAndHasNoLines) {
  const Outcome o = run_event(
      batch(R"([{"op":"delete","line":1,"end":2},{"op":"replace","line":2,"lines":["x"]}])"));
  EXPECT_EQ(o.result["status"], "rejected");
  EXPECT_EQ(o.result["revision"], 3);
  EXPECT_FALSE(o.result.contains("lines"));
  ASSERT_EQ(o.result["violations"].size(), 1u);
  EXPECT_EQ(o.result["violations"][0]["code"], "overlapping_patches");
  EXPECT_EQ(o.result["violations"][0]["patch"], 1);
  EXPECT_FALSE(o.result["violations"][0]["message"].get<std::string>().empty());
}

TEST(Rules, LineOutOfRange) {
  EXPECT_EQ(codes(run_event(batch(R"([{"op":"delete","line":4}])")).result),
            std::vector<std::string>{"line_out_of_range"});
  EXPECT_EQ(codes(run_event(batch(R"([{"op":"replace","line":2,"end":4,"lines":["x"]}])")).result),
            std::vector<std::string>{"line_out_of_range"});
  EXPECT_EQ(codes(run_event(batch(R"([{"op":"delete","line":3,"end":2}])")).result),
            std::vector<std::string>{"line_out_of_range"});
  EXPECT_EQ(codes(run_event(batch(R"([{"op":"delete","line":1}])", "[]")).result),
            std::vector<std::string>{"line_out_of_range"});
}

TEST(Rules, InsertOutOfBounds) {
  EXPECT_EQ(codes(run_event(batch(R"([{"op":"insert","line":5,"lines":["x"]}])")).result),
            std::vector<std::string>{"insert_out_of_bounds"});
  // len + 1 appends; into an empty document line 1 is the only place.
  EXPECT_EQ(run_event(batch(R"([{"op":"insert","line":4,"lines":["x"]}])")).result["status"],
            "applied");
  EXPECT_EQ(run_event(batch(R"([{"op":"insert","line":1,"lines":["x"]}])", "[]")).result["status"],
            "applied");
}

TEST(Rules, OverlappingPatches) {
  // Two inserts at one line, insert inside a replaced range, two ranges sharing a line.
  for (
      const char* patches :
      {R"([{"op":"insert","line":2,"lines":["x"]},{"op":"insert","line":2,"lines":["y"]}])",
       R"([{"op":"replace","line":1,"end":3,"lines":["x"]},{"op":"insert","line":2,"lines":["y"]}])",
       R"([{"op":"delete","line":1,"end":2},{"op":"delete","line":2,"end":3}])",
       R"([{"op":"insert","line":4,"lines":["x"]},{"op":"insert","line":4,"lines":["y"]}])"}) {
    EXPECT_EQ(codes(run_event(batch(patches)).result),
              std::vector<std::string>{"overlapping_patches"})
        << patches;
  }
  // Adjacent ranges and an insert right after a deleted range do not overlap.
  EXPECT_EQ(
      run_event(
          batch(
              R"([{"op":"delete","line":1},{"op":"delete","line":2},{"op":"insert","line":3,"lines":["x"]}])"))
          .result["status"],
      "applied");
}

TEST(Rules, OverlapsAreAllReportedAgainstTheWideRange) {
  const Outcome o =
      run_event(batch(R"([{"op":"delete","line":1,"end":3},{"op":"insert","line":1,"lines":["x"]},
                                        {"op":"insert","line":2,"lines":["y"]},{"op":"insert","line":3,"lines":["z"]}])"));
  ASSERT_EQ(o.result["violations"].size(), 3u);
  for (const auto& v : o.result["violations"])
    EXPECT_EQ(v["code"], "overlapping_patches");
}

TEST(Rules, EmptyBatch) {
  EXPECT_EQ(codes(run_event(batch("[]")).result), std::vector<std::string>{"empty_batch"});
}

TEST(Rules, EveryViolationIsReportedNotOnlyTheFirst) {
  const Outcome o =
      run_event(batch(R"([{"op":"delete","line":9},{"op":"insert","line":8,"lines":["x"]},
                                        {"op":"delete","line":1},{"op":"delete","line":1}])"));
  EXPECT_EQ(codes(o.result), (std::vector<std::string>{"line_out_of_range", "insert_out_of_bounds",
                                                       "overlapping_patches"}));
}

TEST(Rules, RevisionMismatchInStatefulMode) {
  const std::vector<std::string_view> lines{"a", "b", "c"};
  const StoredDocument stored{7, lines};
  const Outcome o = run_event(batch(R"([{"op":"delete","line":1}])"), {}, &stored);
  EXPECT_EQ(codes(o.result), std::vector<std::string>{"revision_mismatch"});
  EXPECT_EQ(o.result["revision"], 3);

  const StoredDocument current{3, lines};
  const std::string no_snapshot =
      R"({"batch_id":"b","user_id":"u","document_id":"d","base_revision":3,"patches":[{"op":"delete","line":2}]})";
  const Outcome applied = run_event(no_snapshot, {}, &current);
  EXPECT_EQ(applied.result["status"], "applied");
  EXPECT_EQ(applied.result["revision"], 4);
  EXPECT_EQ(applied.result["lines"], nlohmann::json::array({"a", "c"}));
  // Stateless mode needs the snapshot.
  EXPECT_EQ(codes(run_event(no_snapshot).result), std::vector<std::string>{"invalid_batch"});
}

TEST(Normalizer, OrdersPatchesDescendingWhateverTheInputOrder) {
  for (std::vector<std::uint64_t> order :
       {std::vector<std::uint64_t>{1, 5, 3}, {1, 3, 5}, {5, 3, 1}}) {
    std::vector<Patch> patches;
    for (std::uint64_t line : order) {
      patches.push_back({Op::erase, static_cast<std::uint32_t>(patches.size()), line, line, 0, 0});
    }
    std::vector<Violation> violations;
    ASSERT_TRUE(normalize(patches, 5, violations, 100));
    EXPECT_EQ(patches[0].line, 5u);
    EXPECT_EQ(patches[1].line, 3u);
    EXPECT_EQ(patches[2].line, 1u);
    EXPECT_FALSE(check_descending(patches).has_value());
  }
}

TEST(Normalizer, ReportsAtMostTheConfiguredNumberOfViolations) {
  std::vector<Patch> patches;
  for (std::uint32_t i = 0; i < 1000; ++i)
    patches.push_back({Op::erase, i, 1, 3, 0, 0});
  std::vector<Violation> violations;
  EXPECT_FALSE(normalize(patches, 3, violations, 50));
  EXPECT_EQ(violations.size(), 50u);
}

// The internal guards can only fail through a bug, so they are driven directly.
TEST(Guards, DescOrder) {
  const std::vector<Patch> ascending{{Op::erase, 0, 1, 1, 0, 0}, {Op::erase, 1, 2, 2, 0, 0}};
  const auto v = check_descending(ascending);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(code_name(v->code), "desc_order");
}

TEST(Guards, ImmutableSnapshot) {
  std::vector<std::string_view> snapshot{"a", "b"};
  const SnapshotSeal seal = seal_snapshot(snapshot);
  EXPECT_FALSE(check_immutable(seal, snapshot).has_value());
  static const std::string other = "z";
  snapshot[1] = other;
  const auto v = check_immutable(seal, snapshot);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(code_name(v->code), "immutable_snapshot");
}

TEST(Guards, SnapshotSizeChanged) {
  std::vector<std::string_view> snapshot{"a", "b"};
  snapshot.reserve(8);
  const SnapshotSeal seal = seal_snapshot(snapshot);
  EXPECT_FALSE(check_size(seal, snapshot, {}, 2).has_value());
  snapshot.push_back("c");
  const auto v = check_size(seal, snapshot, {}, 2);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(code_name(v->code), "snapshot_size_changed");
}

TEST(Guards, OutputLengthFollowsThePatches) {
  const std::vector<std::string_view> snapshot{"a", "b", "c"};
  const SnapshotSeal seal = seal_snapshot(snapshot);
  Patch insert_two;  // +2
  insert_two.op = Op::insert;
  insert_two.line = 4;
  insert_two.end = 4;
  insert_two.lines_count = 2;
  Patch delete_two;  // −2
  delete_two.op = Op::erase;
  delete_two.line = 1;
  delete_two.end = 2;
  const Patch patches[] = {insert_two, delete_two};
  EXPECT_FALSE(check_size(seal, snapshot, patches, 3).has_value());
  const auto v = check_size(seal, snapshot, patches, 4);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->a, 3u);
  EXPECT_EQ(v->b, 4u);
}

TEST(Guards, RevisionStep) {
  EXPECT_FALSE(check_revision_step(3, 4).has_value());
  const auto v = check_revision_step(3, 5);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(code_name(v->code), "revision_mismatch");
}

TEST(Guards, AFailedGuardIsReportedNotThrown) {
  std::string out;
  Batch batch;
  batch.batch_id = "b";
  batch.user_id = "u";
  batch.document_id = "d";
  const Violation guard{ViolationCode::immutable_snapshot, Detail::guard_failed};
  Result r;
  r.batch = &batch;
  r.violations = std::span<const Violation>(&guard, 1);
  r.internal_guard_failed = true;
  write_result(r, nullptr, out);
  const auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["violations"][0]["code"], "immutable_snapshot");
  EXPECT_NE(j["violations"][0]["message"].get<std::string>().find("bug"), std::string::npos);
}

}  // namespace
}  // namespace patchstream::testing
