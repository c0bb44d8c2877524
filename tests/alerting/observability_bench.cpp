// Per-event cost of the observers the processing loop calls for every batch, and of one
// periodic alert evaluation.
#include <benchmark/benchmark.h>

#include "alerting/alert_engine.h"
#include "alerting/metric_event.h"
#include "metrics/processor_metrics.h"

namespace {

using namespace patchstream;
using namespace std::chrono_literals;

const alerting::WallTime kT0 = alerting::WallTime(std::chrono::seconds(1748855640));

void BM_AlertEngineObserve(benchmark::State& state) {
  alerting::AlertEngine engine(alerting::AlertConfig{});
  auto now = kT0;
  for (auto _ : state) {
    now += 1us;
    engine.observe(alerting::Route::pipeline, alerting::BatchStatus::applied, 0.0004, now);
  }
}
BENCHMARK(BM_AlertEngineObserve);

void BM_AlertEngineEvaluate(benchmark::State& state) {
  alerting::AlertEngine engine(alerting::AlertConfig{});
  for (int i = 0; i < 300; ++i) {
    engine.observe(alerting::Route::pipeline, alerting::BatchStatus::applied, 0.0004,
                   kT0 + std::chrono::seconds(i));
  }
  auto now = kT0 + 300s;
  for (auto _ : state) {
    now += 1s;  // every slot of the 5 min window holds data and a latency histogram
    engine.observe(alerting::Route::pipeline, alerting::BatchStatus::applied, 0.0004, now);
    engine.observe(alerting::Route::legacy, alerting::BatchStatus::forwarded, 0.00005, now);
    benchmark::DoNotOptimize(engine.evaluate(now));
  }
}
BENCHMARK(BM_AlertEngineEvaluate);

void BM_MetricEventRecord(benchmark::State& state) {
  alerting::MetricEventBuilder builder("bench", kT0);
  for (auto _ : state) {
    builder.record(alerting::Route::pipeline, alerting::BatchStatus::applied, 3, 0.0004);
  }
}
BENCHMARK(BM_MetricEventRecord);

void BM_ProcessorMetricsRecordResult(benchmark::State& state) {
  metrics::ProcessorMetrics metrics(std::make_shared<prometheus::Registry>());
  Timings timings{.parse_us = 3, .normalize_us = 1, .execute_us = 2, .total_us = 7};
  for (auto _ : state) {
    metrics.record_result(alerting::Route::pipeline, alerting::BatchStatus::applied, timings,
                          {1, 1, 1});
  }
}
BENCHMARK(BM_ProcessorMetricsRecordResult);

}  // namespace

BENCHMARK_MAIN();
