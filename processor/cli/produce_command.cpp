// `patchstream produce`: valid, rejected and undecodable batches at a steady rate, keyed by
// document.
#include "produce_command.h"

#include <atomic>
#include <chrono>
#include <csignal>
#include <iostream>
#include <random>
#include <thread>

#include "kafka/producer.h"
#include "pipeline/json_text.h"

namespace patchstream {
namespace {

struct ProduceOptions {
  std::string bootstrap = "127.0.0.1:9092";
  std::string topic = "patch-batches";
  double rate = 1000;       // events per second; 0: as fast as the producer takes them
  std::uint64_t count = 0;  // 0: until interrupted (or --duration)
  double duration_s = 0;
  std::uint32_t users = 5000;
  std::uint32_t documents = 1000;
  double invalid_ratio = 0.05;
  double undecodable_ratio = 0.005;
  std::uint32_t snapshot_lines = 50;
  std::uint32_t patches = 10;
  std::uint64_t seed = 1;
  std::string batch_prefix = "b";
  std::vector<std::string> kafka_settings;
};

std::atomic<bool> g_interrupted{false};  // set only by the signal handler below
extern "C" void on_interrupt(int) {
  g_interrupted.store(true);
}

// Builds one event into `out`. Valid batches hold disjoint, in-range patches; an invalid one gets
// one extra patch far past the end (line_out_of_range) or overlapping (overlapping_patches).
void make_event(const ProduceOptions& o, std::mt19937_64& rng, std::uint64_t n, std::string& key,
                std::string& out) {
  const std::uint64_t doc = rng() % o.documents;
  key = "doc-" + std::to_string(doc);
  const double roll = std::uniform_real_distribution<double>(0, 1)(rng);
  out.clear();
  if (roll < o.undecodable_ratio) {
    static const char* kBroken[] = {"not json at all", "[\"an\",\"array\"]",
                                    "{\"batch_id\":42,\"user_id\":\"u\",\"document_id\":\"d\"}",
                                    "{\"batch_id\":\"truncated"};
    out = kBroken[rng() % 4];
    return;
  }
  out.append("{\"batch_id\":\"");
  out.append(o.batch_prefix);
  out.push_back('-');
  append_int(out, n);
  out.append("\",\"user_id\":\"u-");
  append_int(out, rng() % o.users);
  out.append("\",\"document_id\":\"");
  out.append(key);
  out.append("\",\"base_revision\":");
  append_int(out, rng() % 100);
  out.append(",\"snapshot\":[");
  const std::uint32_t lines = std::max<std::uint32_t>(1, o.snapshot_lines);
  for (std::uint32_t i = 1; i <= lines; ++i) {
    if (i > 1) out.push_back(',');
    out.append("\"line ");
    append_int(out, i);
    out.append(": the quick brown fox jumps over the lazy dog\"");
  }
  out.append("],\"patches\":[");
  const std::uint32_t count = std::max<std::uint32_t>(1, std::min(o.patches, lines));
  const std::uint32_t stride = lines / count;
  for (std::uint32_t p = 0; p < count; ++p) {
    const std::uint32_t line = lines - p * stride;
    if (p) out.push_back(',');
    switch (rng() % 3) {
      case 0:
        out.append("{\"op\":\"insert\",\"line\":");
        append_int(out, line);
        out.append(",\"lines\":[\"inserted line\"]}");
        break;
      case 1:
        out.append("{\"op\":\"replace\",\"line\":");
        append_int(out, line);
        out.append(",\"lines\":[\"replaced line\"]}");
        break;
      default:
        out.append("{\"op\":\"delete\",\"line\":");
        append_int(out, line);
        out.push_back('}');
    }
  }
  if (roll < o.undecodable_ratio + o.invalid_ratio) {
    out.append(",{\"op\":\"delete\",\"line\":");
    append_int(out, lines + 10);
    out.push_back('}');
  }
  out.append("]}");
}

int run_produce(const ProduceOptions& o) {
  kafka::KafkaConfig config{
      {"bootstrap.servers", o.bootstrap}, {"linger.ms", "5"}, {"compression.type", "lz4"}};
  for (const auto& kv : o.kafka_settings) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos) {
      std::cerr << "patchstream produce: -X expects key=value, got " << kv << "\n";
      return 2;
    }
    config[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  auto producer = kafka::Producer::idempotent(config);
  if (!producer.ok()) {
    std::cerr << "patchstream produce: " << producer.error().to_string() << "\n";
    return 2;
  }
  std::signal(SIGINT, on_interrupt);
  std::signal(SIGTERM, on_interrupt);
  std::mt19937_64 rng(o.seed);
  std::string key, value;
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  auto last_report = start;
  std::uint64_t n = 0;
  while (!g_interrupted.load() && (o.count == 0 || n < o.count)) {
    const auto now = clock::now();
    const double elapsed = std::chrono::duration<double>(now - start).count();
    if (o.duration_s > 0 && elapsed >= o.duration_s) break;
    if (o.rate > 0 && n >= elapsed * o.rate) {  // ahead of schedule: wait for the next slot
      producer->poll(std::chrono::milliseconds(1));
      continue;
    }
    make_event(o, rng, n, key, value);
    for (;;) {
      auto s = producer->produce(o.topic, key, value);
      if (s.ok()) break;
      if (!s.error().queue_full()) {
        std::cerr << "patchstream produce: " << s.error().to_string() << "\n";
        return 1;
      }
      producer->poll(std::chrono::milliseconds(10));
    }
    ++n;
    producer->poll(std::chrono::milliseconds(0));
    if (now - last_report >= std::chrono::seconds(5)) {
      last_report = now;
      std::cerr << "produced " << n << " events ("
                << static_cast<std::uint64_t>(n / std::max(elapsed, 1e-9)) << "/s)\n";
    }
  }
  auto flushed = producer->flush(std::chrono::seconds(30));
  const auto& d = producer->deliveries();
  std::cerr << "produced " << n << " events: " << d.delivered << " delivered, " << d.failed
            << " failed\n";
  return flushed.ok() && d.failed == 0 ? 0 : 1;
}

}  // namespace

void add_produce_command(CLI::App& app) {
  auto o = std::make_shared<ProduceOptions>();
  CLI::App* cmd = app.add_subcommand(
      "produce",
      "Load generator: publish patch-batch events (key = document_id) at a steady rate: mostly "
      "valid, --invalid-ratio rejected by a rule, --undecodable-ratio not decodable at all.");
  cmd->add_option("--bootstrap", o->bootstrap, "Kafka bootstrap servers")
      ->capture_default_str()
      ->envname("PATCHSTREAM_KAFKA_BOOTSTRAP_SERVERS");
  cmd->add_option("--topic", o->topic, "input topic")->capture_default_str();
  cmd->add_option("--rate", o->rate, "events per second (0: as fast as possible)")
      ->capture_default_str();
  cmd->add_option("--count", o->count, "events to send (0: until Ctrl-C or --duration)")
      ->capture_default_str();
  cmd->add_option("--duration", o->duration_s, "seconds to run (0: no limit)")
      ->capture_default_str();
  cmd->add_option("--users", o->users, "distinct user ids")
      ->capture_default_str()
      ->check(CLI::Range(1u, 100'000'000u));
  cmd->add_option("--documents", o->documents, "distinct document ids")
      ->capture_default_str()
      ->check(CLI::Range(1u, 100'000'000u));
  cmd->add_option("--invalid-ratio", o->invalid_ratio, "share rejected by a rule")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--undecodable-ratio", o->undecodable_ratio,
                  "share that is not a decodable batch")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--snapshot-lines", o->snapshot_lines, "lines per snapshot")
      ->capture_default_str()
      ->check(CLI::Range(1u, 1'000'000u));
  cmd->add_option("--patches", o->patches, "patches per batch")
      ->capture_default_str()
      ->check(CLI::Range(1u, 100'000u));
  cmd->add_option("--seed", o->seed, "random seed")->capture_default_str();
  cmd->add_option("--batch-prefix", o->batch_prefix, "batch_id prefix")->capture_default_str();
  cmd->add_option("-X", o->kafka_settings, "extra librdkafka setting key=value (repeatable)");
  cmd->callback([o] {
    if (int code = run_produce(*o)) throw CLI::RuntimeError(code);
  });
}

}  // namespace patchstream
