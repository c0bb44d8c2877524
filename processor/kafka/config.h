// Client configuration as a plain string map, its translation into librdkafka's conf object, and
// the client hooks.
#pragma once

#include "error.h"
#include "handles.h"

#include <functional>
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>

namespace patchstream::kafka {

// librdkafka property name → value, exactly as CONFIGURATION.md spells them (no "kafka." prefix).
using KafkaConfig = std::map<std::string, std::string>;

// The entries of `settings` whose key starts with `prefix`, with the prefix removed ("kafka.acks" →
// "acks").
KafkaConfig strip_prefix(const std::map<std::string, std::string>& settings,
                         std::string_view prefix = "kafka.");

// Every key goes straight to rd_kafka_conf_set. An error names the key (as "kafka.<key>") and never
// echoes the value, which may be a secret (sasl.password, ssl.key.password).
Result<ConfPtr> make_conf(const KafkaConfig& config);

// A setting the wrapper depends on; a caller who set the key to another value gets an error naming
// key and reason.
struct RequiredSetting {
  std::string key;
  std::string value;
  std::string_view why;
};

// `defaults` under `config` (config wins), then `required` over both.
Result<KafkaConfig> merge_config(const KafkaConfig& defaults, const KafkaConfig& config,
                                 std::initializer_list<RequiredSetting> required);

// Where librdkafka's asynchronous reports go; empty hooks leave librdkafka's defaults (log lines on
// stderr).
struct ClientHooks {
  // Client-level errors (broker down, authentication, fatal idempotence errors), on the thread that
  // polls.
  std::function<void(const KafkaError&)> on_error;
  // librdkafka's log lines (syslog levels); called from librdkafka's own threads, so it must be
  // thread-safe.
  std::function<void(int level, std::string_view facility, std::string_view message)> on_log;
};

}  // namespace patchstream::kafka
