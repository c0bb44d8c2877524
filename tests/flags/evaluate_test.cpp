// Decisions: rule order, distribution, monotonicity, snapshot lookup, and no allocation per call.
#include <gtest/gtest.h>

#include <string>

#include "flags/bucket.h"
#include "flags/flag_registry.h"
#include "flags/flag_snapshot.h"

namespace patchstream::flags {
namespace {

FlagDefinition flag(std::string name, bool enabled, int percentage) {
  FlagDefinition f;
  f.name = std::move(name);
  f.enabled = enabled;
  f.percentage = static_cast<std::uint8_t>(percentage);
  normalize(f);
  return f;
}

TEST(Evaluate, UnknownFlagGoesLegacy) {
  FlagSnapshot snapshot({flag("a", true, 100)});
  const Decision d = evaluate_flag(snapshot, "missing", "u-1");
  EXPECT_FALSE(d.pipeline);
  EXPECT_EQ(d.rule, Rule::unknown_flag);
  EXPECT_EQ(d.bucket, 0);
}

TEST(Evaluate, DecisionOrderDisabledDenyAllowPercentage) {
  FlagDefinition f = flag("f", true, 0);
  f.allow_users = {"both", "allowed"};
  f.deny_users = {"both", "denied"};
  normalize(f);
  FlagSnapshot snapshot({f});

  // Deny beats allow; allow beats a 0% percentage.
  EXPECT_EQ(evaluate_flag(snapshot, "f", "both").rule, Rule::denied);
  EXPECT_FALSE(evaluate_flag(snapshot, "f", "both").pipeline);
  EXPECT_EQ(evaluate_flag(snapshot, "f", "allowed").rule, Rule::allowed);
  EXPECT_TRUE(evaluate_flag(snapshot, "f", "allowed").pipeline);
  EXPECT_EQ(evaluate_flag(snapshot, "f", "other").rule, Rule::percentage_out);

  // The kill switch beats everything, allow-listed users included.
  f.enabled = false;
  FlagSnapshot disabled({f});
  EXPECT_EQ(evaluate_flag(disabled, "f", "allowed").rule, Rule::disabled);
  EXPECT_FALSE(evaluate_flag(disabled, "f", "allowed").pipeline);
  EXPECT_EQ(evaluate_flag(disabled, "f", "denied").rule, Rule::disabled);
}

TEST(Evaluate, PercentageUsesGroupIdBucket) {
  FlagDefinition f = flag("Feature.flexibleRollout.10", true, 10);
  FlagSnapshot snapshot({f});
  const Decision in = evaluate_flag(snapshot, f.name, "174");  // bucket 10: in at 10%
  EXPECT_TRUE(in.pipeline);
  EXPECT_EQ(in.rule, Rule::percentage_in);
  EXPECT_EQ(in.bucket, 10);
  EXPECT_EQ(in.percentage, 10);
  const Decision out = evaluate_flag(snapshot, f.name, "499");  // bucket 32
  EXPECT_FALSE(out.pipeline);
  EXPECT_EQ(out.rule, Rule::percentage_out);
  EXPECT_EQ(out.bucket, 32);

  // Another flag sharing the group shares the cohort.
  FlagDefinition g = flag("other", true, 10);
  g.group_id = "Feature.flexibleRollout.10";
  EXPECT_EQ(evaluate_flag(FlagSnapshot({g}), "other", "174").bucket, 10);
}

TEST(Evaluate, ZeroAndHundredPercent) {
  FlagSnapshot zero({flag("f", true, 0)});
  FlagSnapshot hundred({flag("f", true, 100)});
  for (int i = 0; i < 1000; ++i) {
    const std::string user = "u-" + std::to_string(i);
    ASSERT_FALSE(evaluate_flag(zero, "f", user).pipeline);
    ASSERT_TRUE(evaluate_flag(hundred, "f", user).pipeline);
  }
}

TEST(Evaluate, DistributionAt25PercentIsWithinHalfAPercent) {
  FlagSnapshot snapshot({flag("batch-patches-v1", true, 25)});
  constexpr int kUsers = 100'000;
  int in = 0;
  for (int i = 0; i < kUsers; ++i) {
    if (evaluate_flag(snapshot, "batch-patches-v1", "user-" + std::to_string(i)).pipeline) ++in;
  }
  const double share = 100.0 * in / kUsers;
  RecordProperty("share_percent", std::to_string(share));
  EXPECT_NEAR(share, 25.0, 0.5);
}

TEST(Evaluate, RaisingThePercentageNeverDropsAUser) {
  for (int i = 0; i < 5000; ++i) {
    const std::string user = "user-" + std::to_string(i);
    bool was_in = false;
    for (int percentage : {0, 1, 5, 10, 25, 26, 50, 75, 99, 100}) {
      const bool in =
          evaluate_flag(FlagSnapshot({flag("f", true, percentage)}), "f", user).pipeline;
      ASSERT_TRUE(in || !was_in) << user << " dropped at " << percentage << "%";
      was_in = in;
    }
  }
}

TEST(Snapshot, FindsByNameAndLaterDuplicateWins) {
  FlagSnapshot snapshot({flag("b", true, 1), flag("a", true, 2), flag("b", true, 3)});
  ASSERT_EQ(snapshot.flags().size(), 2u);
  EXPECT_EQ(snapshot.find("a")->percentage, 2);
  EXPECT_EQ(snapshot.find("b")->percentage, 3);
  EXPECT_EQ(snapshot.find("c"), nullptr);
  EXPECT_EQ(snapshot.find("b")->group_id, "b");  // defaulted to the name
}

TEST(Rule, Names) {
  EXPECT_EQ(to_string(Rule::percentage_in), "percentage_in");
  EXPECT_EQ(to_string(Rule::unknown_flag), "unknown_flag");
}

}  // namespace
}  // namespace patchstream::flags
