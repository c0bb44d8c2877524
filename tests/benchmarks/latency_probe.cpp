// Latency probe for scripts/bench-e2e.py: produce time of each input → the moment its result is
// readable by a read_committed consumer, measured in one C++ process (no parsing on the hot side).
#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unordered_map>
#include <vector>

#include "kafka/consumer.h"

using namespace std::chrono_literals;
namespace kafka = patchstream::kafka;

namespace {

std::atomic<bool> stop_requested{false};

std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"latency_probe: input CreateTime → result visible (read_committed), per event"};
  std::string bootstrap, input, results, group = "latency-probe";
  int idle_seconds = 3, max_seconds = 600;
  app.add_option("--bootstrap", bootstrap)->required();
  app.add_option("--input", input)->required();
  app.add_option("--results", results)->required();
  app.add_option("--group", group);
  app.add_option("--idle-seconds", idle_seconds, "stop when nothing arrived for this long");
  app.add_option("--max-seconds", max_seconds);
  // The first transaction after a (re)start takes ~0.9 s on this machine (coordinator lookups,
  // first partition registrations): a steady-state figure leaves the first seconds out.
  int warmup_seconds = 0;
  app.add_option("--warmup-seconds", warmup_seconds,
                 "ignore inputs produced within this long of the first one");
  CLI11_PARSE(app, argc, argv);
  std::signal(SIGTERM, [](int) { stop_requested = true; });

  std::atomic<int> assigned{0};
  kafka::ConsumerSettings cs;
  // A short broker wait: read_committed fetches are not woken by commit markers.
  cs.config = {{"bootstrap.servers", bootstrap},
               {"auto.offset.reset", "latest"},
               {"fetch.wait.max.ms", "5"},
               {"fetch.min.bytes", "1"}};
  cs.group_id = group;
  cs.on_rebalance = [&assigned](kafka::RebalanceKind kind, const kafka::PartitionOffsets& parts) {
    if (kind == kafka::RebalanceKind::Assigned) {
      assigned = static_cast<int>(parts.size());
      std::fprintf(stderr, "ready: %zu partitions\n", parts.size());
    }
  };
  auto consumer = kafka::Consumer::create(std::move(cs));
  if (!consumer.ok() || !consumer->subscribe({input, results}).ok()) {
    std::fprintf(stderr, "cannot consume\n");
    return 1;
  }
  // Either side may arrive first (the input's fetch can trail its result's).
  std::unordered_map<std::string, std::int64_t> produced_ms, visible_us;
  std::vector<double> input_ms;
  std::int64_t first_input_ms = -1;
  const auto started = std::chrono::steady_clock::now();
  auto last_arrival = started;
  std::string id;
  while (!stop_requested) {
    const auto now = std::chrono::steady_clock::now();
    if (now - started > std::chrono::seconds(max_seconds)) break;
    if (!visible_us.empty() && now - last_arrival > std::chrono::seconds(idle_seconds)) break;
    auto polled = consumer->poll(50ms);
    if (!polled.ok() || !polled.value()) continue;
    const kafka::Message& m = *polled.value();
    if (m.topic() == input) {
      if (first_input_ms < 0) first_input_ms = m.timestamp_ms();
      if (m.timestamp_ms() < first_input_ms + warmup_seconds * 1000LL) continue;
      id.assign(m.topic());
      id += '/' + std::to_string(m.partition()) + '/' + std::to_string(m.offset());
      produced_ms.emplace(id, m.timestamp_ms());
      // How long the input itself took to become readable: the share of the latency that lies
      // before the processor.
      if (m.timestamp_ms() > 0)
        input_ms.push_back(static_cast<double>(now_us() - m.timestamp_ms() * 1000) / 1000.0);
    } else if (auto ce_id = m.header("ce_id")) {
      visible_us.emplace(std::string(*ce_id), now_us());
      last_arrival = std::chrono::steady_clock::now();
    }
  }
  std::vector<double> ms;
  for (const auto& [key, at] : visible_us) {
    auto it = produced_ms.find(key);
    if (it != produced_ms.end() && it->second > 0) {
      ms.push_back(static_cast<double>(at - it->second * 1000) / 1000.0);
      // LATENCY_PROBE_TRACE: when the slow ones were produced (seconds after the first input).
      if (std::getenv("LATENCY_PROBE_TRACE") && ms.back() > 300)
        std::fprintf(stderr, "slow %.1f s %.0f ms\n", (it->second - first_input_ms) / 1000.0,
                     ms.back());
    }
  }
  std::sort(ms.begin(), ms.end());
  std::sort(input_ms.begin(), input_ms.end());
  const auto q = [](const std::vector<double>& v, double f) {
    return v.empty() ? 0.0 : v[std::min(v.size() - 1, static_cast<std::size_t>(f * v.size()))];
  };
  std::printf(
      "{\"samples\":%zu,\"unmatched\":%zu,\"p50\":%.1f,\"p95\":%.1f,\"p99\":%.1f,\"max\":%.1f,"
      "\"input_p50\":%.1f,\"input_p99\":%.1f}\n",
      ms.size(), visible_us.size() - ms.size(), q(ms, 0.5), q(ms, 0.95), q(ms, 0.99),
      ms.empty() ? 0 : ms.back(), q(input_ms, 0.5), q(input_ms, 0.99));
  (void)consumer->close();
  return 0;
}
