// Builds librdkafka conf objects from string maps, naming the offending key on any error.
#include "config.h"

#include <array>

namespace patchstream::kafka {

KafkaConfig strip_prefix(const std::map<std::string, std::string>& settings,
                         std::string_view prefix) {
  KafkaConfig out;
  for (const auto& [key, value] : settings) {
    if (key.size() > prefix.size() && std::string_view(key).starts_with(prefix)) {
      out.emplace(key.substr(prefix.size()), value);
    }
  }
  return out;
}

namespace {

// librdkafka's messages quote the offending value; for secret-looking keys that quote is cut out.
bool looks_secret(std::string_view key) {
  for (std::string_view marker :
       {"password", "secret", "token", "jaas", "oauthbearer.config", ".pem", "key.location"}) {
    if (key.find(marker) != std::string_view::npos) {
      return true;
    }
  }
  return false;
}

std::string redact(std::string message, const std::string& key, const std::string& value) {
  if (!value.empty() && looks_secret(key)) {
    for (auto pos = message.find(value); pos != std::string::npos; pos = message.find(value, pos)) {
      message.replace(pos, value.size(), "***");
    }
  }
  return message;
}

}  // namespace

Result<ConfPtr> make_conf(const KafkaConfig& config) {
  ConfPtr conf(rd_kafka_conf_new());
  std::array<char, 512> errstr{};
  for (const auto& [key, value] : config) {
    if (rd_kafka_conf_set(conf.get(), key.c_str(), value.c_str(), errstr.data(), errstr.size()) !=
        RD_KAFKA_CONF_OK) {
      return KafkaError::invalid("kafka." + key + ": " + redact(errstr.data(), key, value));
    }
  }
  return conf;
}

Result<KafkaConfig> merge_config(const KafkaConfig& defaults, const KafkaConfig& config,
                                 std::initializer_list<RequiredSetting> required) {
  KafkaConfig out = defaults;
  for (const auto& [key, value] : config) {
    out[key] = value;
  }
  for (const auto& r : required) {
    auto it = config.find(r.key);
    if (it != config.end() && it->second != r.value) {
      return KafkaError::invalid("kafka." + r.key + ": must be \"" + r.value + "\" (" +
                                 std::string(r.why) + ")");
    }
    out[r.key] = r.value;
  }
  return out;
}

}  // namespace patchstream::kafka
