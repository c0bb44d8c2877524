// `patchstream mock-broker`: starts a mock cluster, pre-creates topics, prints the bootstrap
// address and serves until SIGINT/SIGTERM.
#include "cli/mock_broker_command.h"

#include <charconv>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include "kafka/mock_cluster.h"

namespace patchstream {
namespace {

struct MockBrokerOptions {
  int brokers = 1;
  std::string topics;
  std::string bootstrap_file;
};

constexpr std::string_view kToyWarning =
    "patchstream mock-broker: this is a TOY broker (librdkafka's mock cluster), NOT Kafka: no "
    "delivery guarantees. Records live in memory only (old ones are dropped past a few MB per "
    "partition), transactions are faked (read_committed also sees aborted records), there is no "
    "compaction, no CreateTopics API and no persistence. Use it for demos and smoke tests only; "
    "scripts/kafka-broker.sh starts a real Kafka.\n";

// Written to a temporary name and renamed, so a script polling for the file never reads half of it.
bool write_bootstrap_file(const std::string& path, const std::string& bootstrap) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << bootstrap << "\n";
    if (!out.flush()) return false;
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  return !ec;
}

int run_mock_broker(const MockBrokerOptions& o) {
  std::vector<MockTopic> topics;
  std::string error;
  if (!parse_mock_topics(o.topics, topics, error)) {
    std::cerr << "patchstream mock-broker: --topics: " << error << "\n";
    return 2;
  }
  // Blocked before librdkafka starts its threads, which inherit the mask: only sigwait below sees
  // the stop signals.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  std::cerr << kToyWarning;
  kafka::ClientHooks hooks;
  hooks.on_log = [](int level, std::string_view facility, std::string_view message) {
    if (level <= 4) {  // warnings and worse; the mock's info lines are noise here
      std::cerr << ("patchstream mock-broker: " + std::string(facility) + ": " +
                    std::string(message) + "\n");
    }
  };
  auto cluster = kafka::MockCluster::create(o.brokers, std::move(hooks));
  if (!cluster) {
    std::cerr << "patchstream mock-broker: " << cluster.error().to_string() << "\n";
    return 1;
  }
  for (const auto& t : topics) {
    if (auto created = cluster->create_topic(t.name, t.partitions, o.brokers); !created) {
      std::cerr << "patchstream mock-broker: " << created.error().to_string() << "\n";
      return 1;
    }
    if (t.compact) {
      std::cerr << "patchstream mock-broker: topic " << t.name
                << " asked for compaction: the mock keeps every record instead\n";
    }
  }
  const std::string bootstrap = cluster->bootstrap();
  if (!o.bootstrap_file.empty() && !write_bootstrap_file(o.bootstrap_file, bootstrap)) {
    std::cerr << "patchstream mock-broker: cannot write " << o.bootstrap_file << "\n";
    return 1;
  }
  std::cerr << "patchstream mock-broker: " << o.brokers << " broker(s) at " << bootstrap << ", "
            << topics.size() << " topic(s) created; SIGINT/SIGTERM stop it\n";
  std::cout << bootstrap << std::endl;

  int signal = 0;
  sigwait(&stop_signals, &signal);
  std::cerr << "patchstream mock-broker: signal " << signal << ": stopping\n";
  if (!o.bootstrap_file.empty()) {
    std::error_code ignored;
    std::filesystem::remove(o.bootstrap_file, ignored);
  }
  return 0;
}

bool parse_int(std::string_view text, int& out) {
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && ptr == end;
}

}  // namespace

bool parse_mock_topics(std::string_view list, std::vector<MockTopic>& out, std::string& error) {
  out.clear();
  while (!list.empty()) {
    const auto comma = list.find(',');
    const std::string_view entry = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    if (entry.empty()) continue;
    MockTopic topic;
    const auto colon = entry.find(':');
    topic.name = std::string(entry.substr(0, colon));
    if (colon != std::string_view::npos) {
      std::string_view rest = entry.substr(colon + 1);
      const auto second = rest.find(':');
      const std::string_view count = rest.substr(0, second);
      if (!parse_int(count, topic.partitions) || topic.partitions < 1 || topic.partitions > 10000) {
        error = "'" + std::string(entry) + "': partitions must be an integer in 1..10000";
        return false;
      }
      if (second != std::string_view::npos) {
        if (rest.substr(second + 1) != "compact") {
          error = "'" + std::string(entry) + "': expected name[:partitions[:compact]]";
          return false;
        }
        topic.compact = true;
      }
    }
    if (topic.name.empty()) {
      error = "'" + std::string(entry) + "': empty topic name";
      return false;
    }
    out.push_back(std::move(topic));
  }
  return true;
}

void add_mock_broker_command(CLI::App& app) {
  auto o = std::make_shared<MockBrokerOptions>();
  CLI::App* cmd = app.add_subcommand(
      "mock-broker",
      "Run librdkafka's mock cluster, a TOY Kafka without delivery guarantees (in memory, faked "
      "transactions), on loopback ports: prints the bootstrap address on stdout and serves until "
      "SIGINT/SIGTERM. For demos and smoke tests on machines without Java "
      "(docs/KAFKA-BROKER.md).");
  cmd->add_option("--brokers", o->brokers, "number of mock brokers")
      ->capture_default_str()
      ->check(CLI::Range(1, 16));
  cmd->add_option("--topics", o->topics,
                  "topics to create: name[:partitions[:compact]],... (partitions default 1)");
  cmd->add_option("--bootstrap-file", o->bootstrap_file,
                  "also write the bootstrap address to this file (removed at exit)");
  cmd->callback([o] {
    if (int code = run_mock_broker(*o)) throw CLI::RuntimeError(code);
  });
}

}  // namespace patchstream
