// Configuration: file + environment, unknown keys and bad values fail naming the key, secrets
// masked, `patchstream config` reads back equal, the docs list every key.
#include <gtest/gtest.h>

#include <toml++/toml.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/processor_config.h"

namespace patchstream {
namespace {

std::filesystem::path write_config(const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("patchstream-config-" + std::to_string(::getpid()) + ".toml");
  std::ofstream(path) << text;
  return path;
}

std::string error_of(const std::string& text, std::map<std::string, std::string> env = {}) {
  try {
    load_config(write_config(text), env);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(Config, DefaultsAreSafe) {
  const ProcessorConfig c = load_config({}, {});
  EXPECT_EQ(c.processing.delivery, DeliveryMode::exactly_once);
  EXPECT_EQ(c.admin.address, "127.0.0.1");
  EXPECT_EQ(c.admin.port, 9000);
  EXPECT_EQ(c.processing.commit_every_events, 5000u);
  EXPECT_FALSE(c.instance_id.empty());
}

TEST(Config, ReadsTheFileAndPassesKafkaKeysThrough) {
  const ProcessorConfig c = load_config(write_config(R"(
instance_id = "p-1"
[kafka]
"bootstrap.servers" = "k1:9092,k2:9092"
security.protocol = "SASL_SSL"
"sasl.password" = "hunter2"
[processing]
delivery = "at-least-once"
commit_every_events = 50
[limits]
max_patches = 77
[admin]
listen = "0.0.0.0:9100"
[[flags.declare]]
name = "batch-patches-v1"
enabled = true
percentage = 10
deny_users = ["u-1"]
)"),
                                        {});
  EXPECT_EQ(c.instance_id, "p-1");
  EXPECT_EQ(c.kafka.at("bootstrap.servers"), "k1:9092,k2:9092");
  EXPECT_EQ(c.kafka.at("security.protocol"), "SASL_SSL");
  EXPECT_EQ(c.processing.delivery, DeliveryMode::at_least_once);
  EXPECT_EQ(c.processing.commit_every_events, 50u);
  EXPECT_EQ(c.limits.max_patches, 77u);
  EXPECT_EQ(c.admin.address, "0.0.0.0");
  EXPECT_EQ(c.admin.port, 9100);
  ASSERT_EQ(c.flags.declare.size(), 1u);
  EXPECT_EQ(c.flags.declare[0].percentage, 10);
  const std::string shown = describe_config(c);
  EXPECT_EQ(shown.find("hunter2"), std::string::npos) << shown;
  EXPECT_NE(shown.find("****"), std::string::npos);
}

TEST(Config, EnvironmentOverridesTheFile) {
  const ProcessorConfig c = load_config(write_config("[processing]\ngroup_id = \"from-file\"\n"),
                                        {{"PATCHSTREAM_PROCESSING_GROUP_ID", "from-env"},
                                         {"PATCHSTREAM_KAFKA_BOOTSTRAP_SERVERS", "env:9092"},
                                         {"PATCHSTREAM_LIMITS_MAX_EVENT_BYTES", "1024"}});
  EXPECT_EQ(c.processing.group_id, "from-env");
  EXPECT_EQ(c.kafka.at("bootstrap.servers"), "env:9092");
  EXPECT_EQ(c.limits.max_event_bytes, 1024u);
}

TEST(Config, ErrorsNameTheKey) {
  EXPECT_NE(
      error_of("[processing]\ncommit_every_event = 5\n").find("processing.commit_every_event"),
      std::string::npos);
  EXPECT_NE(
      error_of("[processing]\ncommit_every_events = -5\n").find("processing.commit_every_events"),
      std::string::npos);
  EXPECT_NE(error_of("[processing]\ndelivery = \"sometimes\"\n").find("processing.delivery"),
            std::string::npos);
  EXPECT_NE(error_of("[admin]\nlisten = \"nowhere\"\n").find("admin.listen"), std::string::npos);
  EXPECT_NE(error_of("[[flags.declare]]\nname = \"f\"\npercentage = 101\n")
                .find("flags.declare[0].percentage"),
            std::string::npos);
  EXPECT_NE(
      error_of("[[flags.declare]]\nname = \"f\"\ncolour = 1\n").find("flags.declare[0].colour"),
      std::string::npos);
  EXPECT_NE(error_of("", {{"PATCHSTREAM_LIMITS_MAX_PATCHES", "lots"}}).find("limits.max_patches"),
            std::string::npos);
  EXPECT_NE(error_of("this is = = not toml").find(".toml:1"), std::string::npos);
}

TEST(Config, TheProducerAcceptsTheLargestOutput) {
  // A producer message size below the output limit would refuse records the router emits, and
  // each refusal aborts the transaction onto the same event again.
  EXPECT_EQ(load_config({}, {}).kafka.at("message.max.bytes"), "1004096");
  EXPECT_EQ(load_config({}, {{"PATCHSTREAM_PROCESSING_MAX_OUTPUT_BYTES", "2000000"}})
                .kafka.at("message.max.bytes"),
            "2004096");
  EXPECT_EQ(load_config({}, {{"PATCHSTREAM_KAFKA_MESSAGE_MAX_BYTES", "5000000"}})
                .kafka.at("message.max.bytes"),
            "5000000");
  EXPECT_NE(error_of("", {{"PATCHSTREAM_KAFKA_MESSAGE_MAX_BYTES", "1000000"}})
                .find("kafka.message.max.bytes"),
            std::string::npos);
}

}  // namespace
}  // namespace patchstream

namespace patchstream {
namespace {

// Every key of config_keys() set to something other than its default (checked below).
constexpr const char* kEveryKeyChanged = R"(
instance_id = "p-7"
[kafka]
"bootstrap.servers" = "k1:9092"
"linger.ms" = "20"
[topics]
input = "in"
results = "res"
legacy = "leg"
dead_letter = "dlq"
metrics = "met"
alerts = "alr"
flags = "flg"
flag_audit = "aud"
rollout_evidence = "evi"
[processing]
group_id = "g"
delivery = "at-least-once"
commit_every_events = 77
commit_every_ms = 33
flag = "other-flag"
max_output_bytes = 2000000
shutdown_timeout_ms = 2500
[limits]
max_event_bytes = 1048576
max_patches = 12
max_snapshot_lines = 13
max_line_bytes = 14
max_reported_violations = 15
[admin]
listen = "0.0.0.0:9100"
body_limit = 2048
header_limit = 4096
read_timeout_ms = 1500
write_timeout_ms = 1600
max_connections = 7
token_env = "OTHER_TOKEN"
token_file = "/etc/patchstream/token"
[flags]
store = "kafka"
directory = "/var/lib/flags"
[log]
level = "warn"
[metrics]
interval_ms = 500
[alerts]
window_ms = 60000
window_slots = 30
min_samples = 5
resend_interval_ms = 30000
stall_after_ms = 1000
lag_window_ms = 2000
memory_warmup_ms = 3000
error_rate_warning = 0.0123456789
error_rate_critical = 0.25
success_rate_warning = 0.9
success_rate_critical = 0.5
latency_p95_ms_warning = 100.5
latency_p95_ms_critical = 200
latency_p99_ms_warning = 300
latency_p99_ms_critical = 1e4
runbook_base_url = "https://runbooks.example/patchstream"
[alert_router]
alertmanagers = ["http://am-0:9093", "http://am-1:9093/prefix"]
group_id = "router-7"
listen = "0.0.0.0:9196"
batch_max_events = 10
batch_max_bytes = 4096
linger_ms = 5
request_timeout_ms = 700
backoff_initial_ms = 50
backoff_max_ms = 400
shutdown_timeout_ms = 900
[[flags.declare]]
name = "other-flag"
enabled = true
percentage = 33
group_id = "g2"
auto_rollback = true
allow_users = ["u-1", "u-2"]
deny_users = ["u-3"]
reason = "rollout"
[[flags.declare]]
name = "second"
)";

// Key → value as describe_config prints it (TOML text), [kafka] and [[flags.declare]] aside.
std::map<std::string, std::string> printed_values(const ProcessorConfig& c) {
  const toml::table t = toml::parse(describe_config(c));
  std::map<std::string, std::string> out;
  for (const auto& key : config_keys()) {
    const toml::node* node = t.at_path(key.name).node();
    if (!node) continue;
    std::ostringstream text;
    node->visit([&](const auto& v) { text << v; });
    out[std::string(key.name)] = text.str();
  }
  return out;
}

ProcessorConfig round_trip(const ProcessorConfig& c) {
  return load_config(write_config(describe_config(c)), {});
}

TEST(Config, AlertRouterSection) {
  const ProcessorConfig c = load_config(write_config(R"(
[alert_router]
alertmanagers = ["http://am-0:9093", "http://am-1:9093/prefix"]
listen = "0.0.0.0:9196"
batch_max_events = 10
backoff_initial_ms = 50
backoff_max_ms = 400
)"),
                                        {});
  EXPECT_EQ(c.alert_router.alertmanagers,
            (std::vector<std::string>{"http://am-0:9093", "http://am-1:9093/prefix"}));
  EXPECT_EQ(c.alert_router.listen_address, "0.0.0.0");
  EXPECT_EQ(c.alert_router.listen_port, 9196);
  EXPECT_EQ(c.alert_router.batch_max_events, 10u);
  EXPECT_EQ(c.alert_router.backoff_max, std::chrono::milliseconds(400));
  EXPECT_EQ(c.alert_router.group_id, "patchstream-alert-router");
  // The environment's comma-separated form replaces the file's list.
  const ProcessorConfig e =
      load_config(write_config("[alert_router]\nalertmanagers = [\"http://x:1\"]\n"),
                  {{"PATCHSTREAM_ALERT_ROUTER_ALERTMANAGERS", "http://a:9093, http://b:9093"}});
  EXPECT_EQ(e.alert_router.alertmanagers,
            (std::vector<std::string>{"http://a:9093", "http://b:9093"}));
  EXPECT_EQ(error_of("[alert_router]\nalertmanagers = [\"https://am:9093\"]\n"),
            "alert_router.alertmanagers: expected http://HOST[:PORT][/PREFIX], got "
            "'https://am:9093'");
  EXPECT_EQ(error_of("[alert_router]\nalertmanagers = [1]\n"),
            "alert_router.alertmanagers: expected an array of strings");
  EXPECT_EQ(error_of("[alert_router]\nbackoff_initial_ms = 500\nbackoff_max_ms = 100\n"),
            "alert_router.backoff_max_ms: must not be below alert_router.backoff_initial_ms");
  EXPECT_EQ(error_of("[alert_router]\nbatch_max_events = 0\n"),
            "alert_router.batch_max_events: expected an integer in 1..10000, got '0'");
}

TEST(Config, TheShippedExampleLoadsAndRoundTrips) {
  const ProcessorConfig c = load_config(PATCHSTREAM_EXAMPLE_CONFIG, {});
  EXPECT_EQ(c.instance_id, "patchstream-1");
  ASSERT_EQ(c.flags.declare.size(), 1u);
  EXPECT_TRUE(c.flags.declare[0].auto_rollback);
  // What `patchstream config` prints is itself a valid configuration, equal to the effective one.
  EXPECT_TRUE(round_trip(c) == c) << describe_config(c);
}

TEST(Config, EveryKeyRoundTripsThroughPatchstreamConfig) {
  const ProcessorConfig c = load_config(write_config(kEveryKeyChanged), {});
  const auto printed = printed_values(c);
  for (const auto& key : config_keys()) {
    ASSERT_TRUE(printed.contains(std::string(key.name))) << key.name << " is not printed";
    EXPECT_NE(printed.at(std::string(key.name)), key.default_value)
        << key.name << ": kEveryKeyChanged must change it";
  }
  EXPECT_EQ(c.alerts.error_rate.warning, 0.0123456789);  // all digits, not std::to_string's 6
  EXPECT_EQ(c.alerts.latency_p95.warning, 0.1005);       // milliseconds in, seconds held
  EXPECT_EQ(c.flags.declare.at(0).reason, "rollout");
  const ProcessorConfig again = round_trip(c);
  EXPECT_TRUE(again == c) << describe_config(c) << "\n---\n" << describe_config(again);
  EXPECT_EQ(describe_config(again), describe_config(c));
}

TEST(Config, EveryKeyHasAnEnvironmentOverride) {
  const ProcessorConfig from_file = load_config(write_config(kEveryKeyChanged), {});
  std::map<std::string, std::string> env{{"PATCHSTREAM_KAFKA_BOOTSTRAP_SERVERS", "k1:9092"},
                                         {"PATCHSTREAM_KAFKA_LINGER_MS", "20"}};
  for (auto [key, value] : printed_values(from_file)) {
    if (auto text = toml::parse("v = " + value)["v"].value<std::string>()) value = *text;
    std::string name = "PATCHSTREAM_";
    for (char ch : key)
      name += ch == '.' ? '_' : static_cast<char>(std::toupper(ch));
    env[name] = value;
  }
  ProcessorConfig from_env = load_config({}, env);
  from_env.flags.declare = from_file.flags.declare;  // arrays of tables have no variables
  EXPECT_TRUE(from_env == from_file) << describe_config(from_env);
}

TEST(Config, ValuesAreValidatedByTheirKeysType) {
  EXPECT_NE(error_of("[processing]\nflag = \"no spaces allowed\"\n").find("processing.flag"),
            std::string::npos);
  EXPECT_NE(error_of("[topics]\ninput = \"\"\n").find("topics.input: must not be empty"),
            std::string::npos);
  EXPECT_NE(error_of("[alerts]\nerror_rate_warning = 1.5\n")
                .find("alerts.error_rate_warning: expected a number in"),
            std::string::npos);
  EXPECT_NE(error_of("[log]\nlevel = \"loud\"\n")
                .find("log.level: expected debug, info, warn or error, got 'loud'"),
            std::string::npos);
  EXPECT_NE(error_of("[alerts]\nwindow_ms = 0\n").find("alerts.window_ms: expected an integer"),
            std::string::npos);
  EXPECT_NE(error_of("[admin]\nlisten = \"h:70000\"\n").find("admin.listen"), std::string::npos);
  EXPECT_EQ(error_of("[admin]\ntoken_file = \"\"\n"), "");  // empty: no file
}

std::string read(const std::filesystem::path& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), {}};
}

TEST(Config, TheExampleFileSetsEveryKey) {
  const toml::table example = toml::parse_file(PATCHSTREAM_EXAMPLE_CONFIG);
  for (const auto& key : config_keys())
    EXPECT_TRUE(example.at_path(key.name).node()) << key.name << " is missing from the example";
  // Unknown keys in it fail TheShippedExampleLoadsAndRoundTrips.
}

// The docs' key table is this one; on a mismatch the message is the table to paste.
TEST(Config, TheDocsListEveryKey) {
  std::string expected;
  for (const auto& key : config_keys()) {
    expected += "| `" + std::string(key.name) + "` | " + key.type + " | `" + key.default_value +
                "` | " + std::string(key.doc) + " |\n";
  }
  std::istringstream doc(read(PATCHSTREAM_CONFIGURATION_DOC));
  std::string rows;
  for (std::string line; std::getline(doc, line);)
    if (line.starts_with("| `")) rows += line + "\n";
  EXPECT_EQ(rows, expected) << "docs/CONFIGURATION.md's key table should be:\n" << expected;
}

}  // namespace
}  // namespace patchstream
