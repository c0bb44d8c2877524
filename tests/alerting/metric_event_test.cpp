// MetricEventBuilder: counts by route and status, error rate, percentiles, windows that roll.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "alerting/metric_event.h"

namespace patchstream::alerting {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

const WallTime kT0 = WallTime(std::chrono::seconds(1748855640));

TEST(MetricEvent, IdleWindowHasNullRatesAndLatency) {
  MetricEventBuilder builder("patchstream-0", kT0);
  const json event = json::parse(builder.build(kT0 + 10s, 3, 1000));
  EXPECT_EQ(event["instance"], "patchstream-0");
  EXPECT_EQ(event["window_start"], "2025-06-02T09:14:00.000Z");
  EXPECT_EQ(event["window_end"], "2025-06-02T09:14:10.000Z");
  for (const char* route : {"pipeline", "legacy"}) {
    EXPECT_TRUE(event["routes"][route]["error_rate"].is_null());
    EXPECT_TRUE(event["routes"][route]["latency_ms"].is_null());
    EXPECT_EQ(event["routes"][route]["batches"],
              (json{{"applied", 0}, {"rejected", 0}, {"failed", 0}, {"forwarded", 0}}));
  }
  EXPECT_EQ(event["dead_letters"], 0);
  EXPECT_EQ(event["consumer_lag"], 3);
  EXPECT_EQ(event["resident_memory_bytes"], 1000);
}

TEST(MetricEvent, CountsRatesAndPercentiles) {
  MetricEventBuilder builder("patchstream-0", kT0);
  for (int i = 0; i < 90; ++i)
    builder.record(Route::pipeline, BatchStatus::applied, 2, 0.001);
  for (int i = 0; i < 8; ++i)
    builder.record(Route::pipeline, BatchStatus::rejected, 1, 0.002);
  builder.record(Route::pipeline, BatchStatus::failed, 1, 0.5);
  builder.record(Route::pipeline, BatchStatus::dead_lettered, 5, 0.5);
  builder.record(Route::legacy, BatchStatus::forwarded, 4, 0.0001);
  builder.record_dead_letter();
  const json event = json::parse(builder.build(kT0 + 10s, 0, 0));
  const json& pipeline = event["routes"]["pipeline"];
  EXPECT_EQ(pipeline["batches"],
            (json{{"applied", 90}, {"rejected", 8}, {"failed", 2}, {"forwarded", 0}}));
  EXPECT_EQ(pipeline["patches"],
            (json{{"applied", 180}, {"rejected", 8}, {"failed", 6}, {"forwarded", 0}}));
  EXPECT_DOUBLE_EQ(pipeline["error_rate"].get<double>(), 0.1);
  EXPECT_NEAR(pipeline["latency_ms"]["p50"].get<double>(), 1.0, 0.05);
  EXPECT_NEAR(pipeline["latency_ms"]["p95"].get<double>(), 2.0, 0.1);
  EXPECT_NEAR(pipeline["latency_ms"]["p99"].get<double>(), 500.0, 25.0);
  EXPECT_EQ(event["routes"]["legacy"]["error_rate"], 0.0);
  EXPECT_EQ(event["routes"]["legacy"]["batches"]["forwarded"], 1);
  EXPECT_EQ(event["dead_letters"], 1);

  // The next window starts where this one ended, from zero.
  EXPECT_EQ(builder.window_start(), kT0 + 10s);
  const json next = json::parse(builder.build(kT0 + 20s, 0, 0));
  EXPECT_EQ(next["window_start"], "2025-06-02T09:14:10.000Z");
  EXPECT_TRUE(next["routes"]["pipeline"]["error_rate"].is_null());
  EXPECT_EQ(next["dead_letters"], 0);
}

}  // namespace
}  // namespace patchstream::alerting
