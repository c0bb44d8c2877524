// Property: for thousands of random valid batches the pipeline equals the one-by-one reference.
#include <gtest/gtest.h>

#include "pipeline_harness.h"
#include "random_batch.h"

namespace patchstream::testing {
namespace {

TEST(Property, PipelineEqualsReferenceOnRandomValidBatches) {
  std::mt19937_64 rng(42);
  Decoder decoder({});
  BatchApplier applier({});
  std::string out;
  for (int i = 0; i < 5000; ++i) {
    const RandomBatch b = random_batch(rng);
    const std::string ev = b.to_event();
    ASSERT_EQ(decoder.decode(ev), DecodeStatus::decoded) << ev;
    const Result r = applier.apply(decoder.batch(), decoder.violations(), nullptr);
    ASSERT_TRUE(r.applied) << ev;
    ASSERT_EQ(r.revision, 1);
    const std::vector<std::string> expected = reference_apply(b);
    ASSERT_EQ(r.lines.size(), expected.size()) << ev;
    for (std::size_t k = 0; k < expected.size(); ++k)
      ASSERT_EQ(r.lines[k], expected[k]) << ev;
    // The snapshot the batch carried is still what the event said.
    ASSERT_EQ(decoder.batch().snapshot.size(), b.snapshot.size());
    for (std::size_t k = 0; k < b.snapshot.size(); ++k)
      ASSERT_EQ(decoder.batch().snapshot[k], b.snapshot[k]);
    out.clear();
    write_result(r, nullptr, out);
    ASSERT_EQ(nlohmann::json::parse(out)["lines"].get<std::vector<std::string>>(), expected);
  }
}

TEST(Property, ShuffledInputOrderNeverChangesTheResult) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 1000; ++i) {
    RandomBatch b = random_batch(rng);
    const auto first = run_event(b.to_event()).result["lines"];
    std::shuffle(b.patches.begin(), b.patches.end(), rng);
    ASSERT_EQ(run_event(b.to_event()).result["lines"], first);
  }
}

}  // namespace
}  // namespace patchstream::testing
