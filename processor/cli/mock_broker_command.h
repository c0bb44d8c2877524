// `patchstream mock-broker`: librdkafka's mock cluster as a toy Kafka for demos and tests without
// Java.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

namespace patchstream {

// One topic to create on the mock: "name[:partitions[:compact]]". The mock has no compaction, so
// `compact` is accepted (the demo's topic lists say it) and only reported.
struct MockTopic {
  std::string name;
  int partitions = 1;
  bool compact = false;
};

// Parses a comma-separated list of topic specs; an error message names the bad entry.
bool parse_mock_topics(std::string_view list, std::vector<MockTopic>& out, std::string& error);

void add_mock_broker_command(CLI::App& app);

}  // namespace patchstream
