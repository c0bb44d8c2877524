// Configuration: file + environment, unknown keys and bad values fail naming the key, secrets
// masked.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

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
  // What `patchstream config` prints is itself a valid configuration.
  const auto path = write_config(describe_config(c));
  const ProcessorConfig again = load_config(path, {});
  EXPECT_EQ(again.topics.input, c.topics.input);
  EXPECT_EQ(again.processing.commit_every_events, c.processing.commit_every_events);
  EXPECT_EQ(again.flags.declare.size(), 1u);
}

}  // namespace
}  // namespace patchstream
