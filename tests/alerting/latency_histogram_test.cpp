// LatencyHistogram: quantiles within the bucket resolution, merging, edge values.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "alerting/latency_histogram.h"

namespace patchstream::alerting {
namespace {

TEST(LatencyHistogram, EmptyIsZero) {
  LatencyHistogram histogram;
  EXPECT_EQ(histogram.count(), 0u);
  EXPECT_EQ(histogram.quantile(0.99), 0.0);
}

TEST(LatencyHistogram, QuantilesOfAUniformSpreadWithinFivePercent) {
  LatencyHistogram histogram;
  for (int i = 1; i <= 10000; ++i)
    histogram.record(i * 1e-4);  // 0.1 ms .. 1 s
  for (const double q : {0.5, 0.95, 0.99}) {
    EXPECT_NEAR(histogram.quantile(q), q, q * 0.05) << q;
  }
}

TEST(LatencyHistogram, MergeEqualsRecordingTogether) {
  LatencyHistogram a, b, both;
  for (int i = 0; i < 100; ++i) {
    a.record(0.001 * i);
    b.record(0.5 + 0.01 * i);
    both.record(0.001 * i);
    both.record(0.5 + 0.01 * i);
  }
  a.add(b);
  EXPECT_EQ(a.count(), both.count());
  EXPECT_EQ(a.quantile(0.95), both.quantile(0.95));
  a.clear();
  EXPECT_EQ(a.count(), 0u);
}

TEST(LatencyHistogram, OddValuesLandSomewhere) {
  LatencyHistogram histogram;
  histogram.record(-1);
  histogram.record(std::numeric_limits<double>::quiet_NaN());
  histogram.record(0);
  histogram.record(1e9);
  histogram.record(std::numeric_limits<double>::infinity());
  EXPECT_EQ(histogram.count(), 5u);
  EXPECT_LT(histogram.quantile(0.5), LatencyHistogram::kMinSeconds);  // the three in bucket 0
  EXPECT_GT(histogram.quantile(1.0), 200.0);
  EXPECT_TRUE(std::isfinite(histogram.quantile(1.0)));
}

}  // namespace
}  // namespace patchstream::alerting
