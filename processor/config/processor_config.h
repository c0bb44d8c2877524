// The processor's configuration: one plain struct, read from a TOML file plus environment
// overrides, validated once at startup.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "admin/admin_auth.h"
#include "admin/http_server.h"
#include "alert_router/router_config.h"
#include "alerting/alert_engine.h"
#include "flags/flag_definition.h"
#include "pipeline/batch.h"

namespace patchstream {

enum class DeliveryMode { exactly_once, at_least_once };
enum class FlagStoreKind { file, kafka };
enum class LogLevel { debug, info, warn, error };

struct TopicNames {
  std::string input = "patch-batches";
  std::string results = "patch-results";
  std::string legacy = "patch-legacy";
  std::string dead_letter = "patch-dead-letters";
  std::string metrics = "patchstream-metrics";
  std::string alerts = "patchstream-alerts";
  std::string flags = "patchstream-flags";                        // compacted, key = flag name
  std::string flag_audit = "patchstream-flag-audit";              // append-only
  std::string rollout_evidence = "patchstream-rollout-evidence";  // compacted, key = flag/instance

  bool operator==(const TopicNames&) const = default;
};

struct ProcessingConfig {
  std::string group_id = "patchstream";
  DeliveryMode delivery = DeliveryMode::exactly_once;
  std::size_t commit_every_events = 5000;
  std::chrono::milliseconds commit_every{100};
  std::string flag = "batch-patches-v1";     // the rollout flag that routes events
  std::size_t max_output_bytes = 1'000'000;  // a larger result is dead-lettered (broker limit)
  std::chrono::milliseconds shutdown_timeout{10'000};

  bool operator==(const ProcessingConfig&) const = default;
};

struct FlagsConfig {
  FlagStoreKind store = FlagStoreKind::file;
  std::filesystem::path directory = "patchstream-flags";  // file store
  std::vector<flags::FlagDefinition> declare;             // created if absent

  bool operator==(const FlagsConfig&) const = default;
};

struct ProcessorConfig {
  std::string instance_id;                   // default: host name; stable across restarts
  std::map<std::string, std::string> kafka;  // every key goes to librdkafka as is
  TopicNames topics;
  ProcessingConfig processing;
  Limits limits;
  admin::AdminServerConfig admin;
  admin::AdminAuthConfig admin_auth;
  FlagsConfig flags;
  LogLevel log_level = LogLevel::info;
  std::chrono::milliseconds metrics_interval{10'000};
  alerting::AlertConfig alerts;  // instance and generator URL are filled from the above
  alert_router::AlertRouterConfig alert_router;  // `patchstream alert-router` only

  bool operator==(const ProcessorConfig&) const = default;
};

// A configuration error names the key (as the file spells it, or the environment variable).
struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Reads `path` (empty: defaults only), then applies PATCHSTREAM_* overrides from `environment`
// (section and key upper-cased, '.' → '_': PATCHSTREAM_PROCESSING_GROUP_ID,
// PATCHSTREAM_KAFKA_BOOTSTRAP_SERVERS → kafka "bootstrap.servers"). Throws ConfigError on an
// unknown key or a bad value.
ProcessorConfig load_config(const std::filesystem::path& path,
                            const std::map<std::string, std::string>& environment);

std::map<std::string, std::string> current_environment();

// The effective configuration as TOML (every key, [kafka] and [[flags.declare]]), librdkafka
// secrets (passwords, keys, tokens) masked. Without secrets, load_config reads it back equal.
std::string describe_config(const ProcessorConfig& config);

// One key of the file (the table load_config, the environment overrides and describe_config
// share), for docs and tests.
struct ConfigKey {
  std::string_view name;  // as the file spells it: "processing.group_id"
  std::string type;       // what it accepts: "integer 1..1000000", "exactly-once | at-least-once"
  std::string default_value;  // as TOML, e.g. "5000", "\"patchstream\""
  std::string_view doc;       // one line
};
const std::vector<ConfigKey>& config_keys();

std::string_view to_string(DeliveryMode mode) noexcept;
std::string_view to_string(LogLevel level) noexcept;

}  // namespace patchstream
