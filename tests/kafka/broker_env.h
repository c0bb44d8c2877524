// Test helpers for the real-broker (kafka label) tests: the fixture broker's address and fresh
// topics.
#pragma once

#include "kafka/admin.h"
#include "kafka/config.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>

namespace patchstream::kafka::test {

// host:port of the broker the CTest fixture `kafka_broker` started (scripts/kafka-broker.sh start),
// read from the file named by PATCHSTREAM_TEST_BOOTSTRAP_FILE. Throws when it is missing: running a
// kafka test without the fixture is a setup mistake, not a skip.
inline std::string bootstrap() {
  const char* path = std::getenv("PATCHSTREAM_TEST_BOOTSTRAP_FILE");
  if (path == nullptr || *path == '\0') {
    throw std::runtime_error(
        "PATCHSTREAM_TEST_BOOTSTRAP_FILE is not set: run kafka tests through ctest "
        "(fixture kafka_broker) or start a broker with scripts/kafka-broker.sh start DIR");
  }
  std::ifstream in(path);
  std::string address;
  if (!(in >> address) || address.empty()) {
    throw std::runtime_error(std::string("no broker address in ") + path +
                             " (did kafka_broker_start fail?)");
  }
  return address;
}

// Client settings for the test broker; tests add their own keys.
inline KafkaConfig client_config() {
  return {{"bootstrap.servers", bootstrap()}};
}

// A name no other test (in this or a parallel process, or an earlier run on the same broker) has
// used.
inline std::string unique_name(std::string_view prefix) {
  static std::atomic<int> counter{0};
  static const unsigned salt = std::random_device{}();
  return std::string(prefix) + "-" + std::to_string(::getpid()) + "-" +
         std::to_string(salt % 100000) + "-" + std::to_string(counter.fetch_add(1));
}

// Creates a fresh topic through the Admin API and waits until its metadata is visible; returns its
// name.
inline std::string create_topic(std::string_view prefix, int partitions = 1, bool compact = false) {
  auto admin = Admin::create(client_config());
  if (!admin) {
    throw std::runtime_error(admin.error().to_string());
  }
  TopicSpec spec{unique_name(prefix), partitions, 1, {}};
  if (compact) {
    spec.configs["cleanup.policy"] = "compact";
  }
  auto created = admin->create_topics({&spec, 1}, std::chrono::seconds(30), false);
  if (!created) {
    throw std::runtime_error(created.error().to_string());
  }
  return spec.name;
}

}  // namespace patchstream::kafka::test
