// Writes real engine output for the pytest checks: alert events of a fire-then-resolve scenario
// on the wall clock (so a live Alertmanager judges them by the real time) and metric events.
// Usage: alert_event_samples OUT_DIR → OUT_DIR/alert-events.ndjson, OUT_DIR/metric-events.ndjson
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "alerting/alert_engine.h"
#include "alerting/metric_event.h"

using namespace patchstream::alerting;
using namespace std::chrono_literals;

namespace {

// One line per event: what the processor puts in the Kafka record (key, status header, value).
void write(std::ofstream& out, const std::vector<AlertEvent>& events, const char* phase) {
  for (const auto& event : events) {
    out << nlohmann::json{{"phase", phase},
                          {"key", event.key},
                          {"status", alert_status_name(event.status)},
                          {"alertname", event.alertname},
                          {"severity", severity_name(event.severity)},
                          {"route", alert_route_name(event.route)},
                          {"triggers_rollback", event.triggers_rollback()},
                          {"value", event.value}}
               .dump()
        << '\n';
  }
}

void feed(AlertEngine& engine, MetricEventBuilder* builder, Route route, int n, int errors,
          double latency, WallTime now) {
  const auto ok = route == Route::pipeline ? BatchStatus::applied : BatchStatus::forwarded;
  for (int i = 0; i < n; ++i) {
    const auto status = i < errors ? BatchStatus::rejected : ok;
    engine.observe(route, status, latency, now);
    if (builder != nullptr) builder->record(route, status, 3, latency);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  std::filesystem::create_directories(dir);

  AlertConfig config;
  config.instance = "patchstream-sample";
  config.generator_url = "http://127.0.0.1:9000/metrics";
  config.runbook_base_url = "http://127.0.0.1:9000/runbooks";
  config.window = 10s;
  config.window_slots = 10;
  config.min_samples = 10;
  config.memory_baseline_bytes = 100 << 20;
  config.memory_for = 0s;
  config.lag_window = 10s;
  config.stall_after = 5s;
  config.dead_letter_sustained_for = 0s;
  AlertEngine engine(config);

  // Everything goes wrong 40 s ago and is healthy again 10 s ago: every alert, both severities,
  // fires and then resolves; the firing events' endsAt (+4 min) are still ahead.
  const WallTime t0 =
      std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now()) -
      40s;
  std::ofstream alerts(dir / "alert-events.ndjson");
  engine.set_lag(100, true);
  engine.set_resident_memory(100 << 20);
  write(alerts, engine.evaluate(t0), "firing");

  const WallTime bad = t0 + 12s;
  for (const Route route : {Route::pipeline, Route::legacy}) {
    feed(engine, nullptr, route, 50, 20, 2.0, bad);
  }
  for (int i = 0; i < 20; ++i)
    engine.observe_violation(bad);
  engine.observe_dead_letter(bad);
  engine.set_resident_memory(300 << 20);
  engine.set_lag(5000, false);
  write(alerts, engine.evaluate(bad), "firing");

  const WallTime good = t0 + 30s;
  for (const Route route : {Route::pipeline, Route::legacy}) {
    feed(engine, nullptr, route, 50, 0, 0.001, good);
  }
  engine.set_resident_memory(100 << 20);
  engine.set_lag(0, true);
  write(alerts, engine.evaluate(good), "resolved");

  // Metric events: an idle window, then one with traffic on both routes.
  std::ofstream metrics(dir / "metric-events.ndjson");
  MetricEventBuilder builder("patchstream-sample", t0);
  metrics << builder.build(t0 + 10s, 0, 50u << 20) << '\n';
  feed(engine, &builder, Route::pipeline, 200, 7, 0.0004, t0 + 12s);
  feed(engine, &builder, Route::legacy, 100, 0, 0.00005, t0 + 12s);
  builder.record(Route::pipeline, BatchStatus::failed, 2, 0.001);
  builder.record(Route::pipeline, BatchStatus::dead_lettered, 4, 0.002);
  builder.record_dead_letter();
  metrics << builder.build(t0 + 20s, 42, 60u << 20) << '\n';
  return 0;
}
