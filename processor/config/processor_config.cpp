// Configuration: TOML (toml++) flattened to dotted keys, environment overrides, one setter per key.
#include "processor_config.h"

#include "alert_router/alertmanager_client.h"

#include <unistd.h>

#include <toml++/toml.h>
#include <charconv>
#include <functional>
#include <sstream>

extern char** environ;

namespace patchstream {
namespace {

using Settings = std::map<std::string, std::string>;

std::string scalar_text(const toml::node& node, const std::string& key) {
  if (auto s = node.value<std::string>()) return *s;
  if (auto b = node.as_boolean()) return b->get() ? "true" : "false";
  if (auto i = node.as_integer()) return std::to_string(i->get());
  if (auto f = node.as_floating_point()) return std::to_string(f->get());
  throw ConfigError(key + ": expected a string, number or boolean");
}

void flatten(const toml::table& table, const std::string& prefix, Settings& out) {
  for (auto&& [k, node] : table) {
    const std::string key =
        prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    if (const auto* sub = node.as_table()) {
      flatten(*sub, key, out);
    } else if (const auto* list = node.as_array(); list && key == "alert_router.alertmanagers") {
      // A list of URLs, kept as the comma-separated form the environment override uses.
      std::string joined;
      for (auto&& item : *list) {
        auto url = item.value<std::string>();
        if (!url) throw ConfigError(key + ": expected an array of strings");
        joined += (joined.empty() ? "" : ",") + *url;
      }
      out[key] = joined;
    } else if (node.is_array()) {
      if (key != "flags.declare")
        throw ConfigError(key + ": unknown key (arrays are not expected here)");
    } else {
      out[key] = scalar_text(node, key);
    }
  }
}

template <typename Int>
Int parse_int(const std::string& key, const std::string& text, Int min, Int max) {
  Int v{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < min || v > max) {
    throw ConfigError(key + ": expected an integer in " + std::to_string(min) + ".." +
                      std::to_string(max) + ", got '" + text + "'");
  }
  return v;
}

double parse_double(const std::string& key, const std::string& text, double min, double max) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !(v >= min && v <= max)) {
    throw ConfigError(key + ": expected a number in " + std::to_string(min) + ".." +
                      std::to_string(max) + ", got '" + text + "'");
  }
  return v;
}

bool parse_bool(const std::string& key, const std::string& text) {
  if (text == "true") return true;
  if (text == "false") return false;
  throw ConfigError(key + ": expected true or false, got '" + text + "'");
}

std::string non_empty(const std::string& key, const std::string& text) {
  if (text.empty()) throw ConfigError(key + ": must not be empty");
  return text;
}

using Setter = std::function<void(ProcessorConfig&, const std::string& key, const std::string&)>;

std::map<std::string, Setter> setters() {
  std::map<std::string, Setter> s;
  s["instance_id"] = [](auto& c, auto& k, auto& v) { c.instance_id = non_empty(k, v); };
  const auto topic = [&](const char* name, std::string TopicNames::*field) {
    s[std::string("topics.") + name] = [field](auto& c, auto& k, auto& v) {
      c.topics.*field = non_empty(k, v);
    };
  };
  topic("input", &TopicNames::input);
  topic("results", &TopicNames::results);
  topic("legacy", &TopicNames::legacy);
  topic("dead_letter", &TopicNames::dead_letter);
  topic("metrics", &TopicNames::metrics);
  topic("alerts", &TopicNames::alerts);
  topic("flags", &TopicNames::flags);
  topic("flag_audit", &TopicNames::flag_audit);

  s["processing.group_id"] = [](auto& c, auto& k, auto& v) {
    c.processing.group_id = non_empty(k, v);
  };
  s["processing.delivery"] = [](auto& c, auto& k, auto& v) {
    if (v == "exactly-once")
      c.processing.delivery = DeliveryMode::exactly_once;
    else if (v == "at-least-once")
      c.processing.delivery = DeliveryMode::at_least_once;
    else
      throw ConfigError(k + ": expected exactly-once or at-least-once, got '" + v + "'");
  };
  s["processing.commit_every_events"] = [](auto& c, auto& k, auto& v) {
    c.processing.commit_every_events = parse_int<std::size_t>(k, v, 1, 1'000'000);
  };
  s["processing.commit_every_ms"] = [](auto& c, auto& k, auto& v) {
    c.processing.commit_every = std::chrono::milliseconds(parse_int<int>(k, v, 1, 60'000));
  };
  s["processing.flag"] = [](auto& c, auto& k, auto& v) {
    if (auto e = flags::check_flag_name(v)) throw ConfigError(k + ": " + e->message);
    c.processing.flag = v;
  };
  s["processing.max_output_bytes"] = [](auto& c, auto& k, auto& v) {
    c.processing.max_output_bytes = parse_int<std::size_t>(k, v, 1024, 1'000'000'000);
  };
  s["processing.shutdown_timeout_ms"] = [](auto& c, auto& k, auto& v) {
    c.processing.shutdown_timeout = std::chrono::milliseconds(parse_int<int>(k, v, 100, 600'000));
  };
  const auto limit = [&](const char* name, std::size_t Limits::*field, std::size_t max) {
    s[std::string("limits.") + name] = [field, max](auto& c, auto& k, auto& v) {
      c.limits.*field = parse_int<std::size_t>(k, v, 1, max);
    };
  };
  limit("max_event_bytes", &Limits::max_event_bytes, std::size_t{1} << 30);
  limit("max_patches", &Limits::max_patches, 10'000'000);
  limit("max_snapshot_lines", &Limits::max_snapshot_lines, 100'000'000);
  limit("max_line_bytes", &Limits::max_line_bytes, std::size_t{1} << 30);
  limit("max_reported_violations", &Limits::max_reported_violations, 100'000);

  s["admin.listen"] = [](auto& c, auto& k, auto& v) {
    const auto colon = v.rfind(':');
    if (colon == std::string::npos || colon == 0)
      throw ConfigError(k + ": expected HOST:PORT, got '" + v + "'");
    c.admin.address = v.substr(0, colon);
    c.admin.port = parse_int<std::uint16_t>(k, v.substr(colon + 1), 0, 65535);
  };
  s["admin.body_limit"] = [](auto& c, auto& k, auto& v) {
    c.admin.body_limit = parse_int<std::uint64_t>(k, v, 1024, 64u << 20);
  };
  s["admin.header_limit"] = [](auto& c, auto& k, auto& v) {
    c.admin.header_limit = parse_int<std::uint32_t>(k, v, 1024, 1u << 20);
  };
  s["admin.read_timeout_ms"] = [](auto& c, auto& k, auto& v) {
    c.admin.read_timeout = std::chrono::milliseconds(parse_int<int>(k, v, 100, 600'000));
  };
  s["admin.write_timeout_ms"] = [](auto& c, auto& k, auto& v) {
    c.admin.write_timeout = std::chrono::milliseconds(parse_int<int>(k, v, 100, 600'000));
  };
  s["admin.max_connections"] = [](auto& c, auto& k, auto& v) {
    c.admin.max_connections = parse_int<std::size_t>(k, v, 1, 100'000);
  };
  s["admin.token_file"] = [](auto& c, auto&, auto& v) { c.admin_auth.token_file = v; };
  s["admin.token_env"] = [](auto& c, auto& k, auto& v) {
    c.admin_auth.token_env = non_empty(k, v);
  };

  s["flags.store"] = [](auto& c, auto& k, auto& v) {
    if (v == "file")
      c.flags.store = FlagStoreKind::file;
    else if (v == "kafka")
      c.flags.store = FlagStoreKind::kafka;
    else
      throw ConfigError(k + ": expected file or kafka, got '" + v + "'");
  };
  s["flags.directory"] = [](auto& c, auto& k, auto& v) { c.flags.directory = non_empty(k, v); };
  s["log.level"] = [](auto& c, auto& k, auto& v) {
    if (v == "debug")
      c.log_level = LogLevel::debug;
    else if (v == "info")
      c.log_level = LogLevel::info;
    else if (v == "warn")
      c.log_level = LogLevel::warn;
    else if (v == "error")
      c.log_level = LogLevel::error;
    else
      throw ConfigError(k + ": expected debug, info, warn or error, got '" + v + "'");
  };
  s["metrics.interval_ms"] = [](auto& c, auto& k, auto& v) {
    c.metrics_interval = std::chrono::milliseconds(parse_int<int>(k, v, 100, 3'600'000));
  };
  using alerting::Duration;
  const auto alert_ms = [&](const char* name, Duration alerting::AlertConfig::*field) {
    s[std::string("alerts.") + name] = [field](auto& c, auto& k, auto& v) {
      c.alerts.*field = Duration(parse_int<std::int64_t>(k, v, 1, 86'400'000));
    };
  };
  alert_ms("window_ms", &alerting::AlertConfig::window);
  alert_ms("resend_interval_ms", &alerting::AlertConfig::resend_interval);
  alert_ms("stall_after_ms", &alerting::AlertConfig::stall_after);
  alert_ms("lag_window_ms", &alerting::AlertConfig::lag_window);
  alert_ms("memory_warmup_ms", &alerting::AlertConfig::memory_warmup);
  s["alerts.window_slots"] = [](auto& c, auto& k, auto& v) {
    c.alerts.window_slots = parse_int<int>(k, v, 1, 3600);
  };
  s["alerts.min_samples"] = [](auto& c, auto& k, auto& v) {
    c.alerts.min_samples = parse_int<std::uint64_t>(k, v, 1, 1'000'000'000);
  };
  const auto level = [&](const char* name, alerting::Levels<double> alerting::AlertConfig::*field,
                         double scale, double max) {
    s[std::string("alerts.") + name + "_warning"] = [=](auto& c, auto& k, auto& v) {
      (c.alerts.*field).warning = parse_double(k, v, 0, max) * scale;
    };
    s[std::string("alerts.") + name + "_critical"] = [=](auto& c, auto& k, auto& v) {
      (c.alerts.*field).critical = parse_double(k, v, 0, max) * scale;
    };
  };
  level("error_rate", &alerting::AlertConfig::error_rate, 1, 1);
  level("success_rate", &alerting::AlertConfig::success_rate, 1, 1);
  level("latency_p95_ms", &alerting::AlertConfig::latency_p95, 0.001, 3'600'000);
  level("latency_p99_ms", &alerting::AlertConfig::latency_p99, 0.001, 3'600'000);

  // [alert_router]: `patchstream alert-router`.
  s["alert_router.alertmanagers"] = [](auto& c, auto& k, auto& v) {
    c.alert_router.alertmanagers.clear();
    std::string_view rest(v);
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      std::string url(rest.substr(0, comma));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      url.erase(0, url.find_first_not_of(' '));
      url.erase(url.find_last_not_of(' ') + 1);
      if (url.empty()) continue;
      if (!alert_router::parse_alertmanager_url(url))
        throw ConfigError(k + ": expected http://HOST[:PORT][/PREFIX], got '" + url + "'");
      c.alert_router.alertmanagers.push_back(std::move(url));
    }
  };
  s["alert_router.group_id"] = [](auto& c, auto& k, auto& v) {
    c.alert_router.group_id = non_empty(k, v);
  };
  s["alert_router.listen"] = [](auto& c, auto& k, auto& v) {
    const auto colon = v.rfind(':');
    if (colon == std::string::npos || colon == 0)
      throw ConfigError(k + ": expected HOST:PORT, got '" + v + "'");
    c.alert_router.listen_address = v.substr(0, colon);
    c.alert_router.listen_port = parse_int<std::uint16_t>(k, v.substr(colon + 1), 0, 65535);
  };
  s["alert_router.batch_max_events"] = [](auto& c, auto& k, auto& v) {
    c.alert_router.batch_max_events = parse_int<std::size_t>(k, v, 1, 10'000);
  };
  s["alert_router.batch_max_bytes"] = [](auto& c, auto& k, auto& v) {
    c.alert_router.batch_max_bytes = parse_int<std::size_t>(k, v, 1024, 64u << 20);
  };
  const auto router_ms = [&](const char* name,
                             std::chrono::milliseconds alert_router::AlertRouterConfig::*field,
                             int min, int max) {
    s[std::string("alert_router.") + name] = [=](auto& c, auto& k, auto& v) {
      c.alert_router.*field = std::chrono::milliseconds(parse_int<int>(k, v, min, max));
    };
  };
  router_ms("linger_ms", &alert_router::AlertRouterConfig::linger, 0, 60'000);
  router_ms("request_timeout_ms", &alert_router::AlertRouterConfig::request_timeout, 100, 600'000);
  router_ms("backoff_initial_ms", &alert_router::AlertRouterConfig::backoff_initial, 1, 600'000);
  router_ms("backoff_max_ms", &alert_router::AlertRouterConfig::backoff_max, 1, 3'600'000);
  router_ms("shutdown_timeout_ms", &alert_router::AlertRouterConfig::shutdown_timeout, 100,
            600'000);
  return s;
}

std::string env_name(const std::string& key) {
  std::string name = "PATCHSTREAM_";
  for (char ch : key)
    name += ch == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return name;
}

flags::FlagDefinition declared_flag(const toml::table& t, std::size_t index) {
  const std::string where = "flags.declare[" + std::to_string(index) + "]";
  flags::FlagDefinition f;
  for (auto&& [k, node] : t) {
    const std::string key = where + "." + std::string(k.str());
    const auto strings = [&] {
      std::vector<std::string> out;
      const auto* arr = node.as_array();
      if (!arr) throw ConfigError(key + ": expected an array of strings");
      for (auto&& item : *arr) {
        auto s = item.value<std::string>();
        if (!s) throw ConfigError(key + ": expected an array of strings");
        out.push_back(*s);
      }
      return out;
    };
    if (k == "name")
      f.name = scalar_text(node, key);
    else if (k == "enabled")
      f.enabled = parse_bool(key, scalar_text(node, key));
    else if (k == "percentage")
      f.percentage = parse_int<std::uint8_t>(key, scalar_text(node, key), 0, 100);
    else if (k == "group_id")
      f.group_id = scalar_text(node, key);
    else if (k == "auto_rollback")
      f.auto_rollback = parse_bool(key, scalar_text(node, key));
    else if (k == "allow_users")
      f.allow_users = strings();
    else if (k == "deny_users")
      f.deny_users = strings();
    else if (k == "reason")
      f.reason = scalar_text(node, key);
    else
      throw ConfigError(key + ": unknown key");
  }
  if (auto e = flags::validate(f)) throw ConfigError(where + "." + e->field + ": " + e->message);
  return f;
}

}  // namespace

std::map<std::string, std::string> current_environment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view entry(*e);
    const auto eq = entry.find('=');
    if (eq != std::string_view::npos && entry.starts_with("PATCHSTREAM_")) {
      env.emplace(entry.substr(0, eq), entry.substr(eq + 1));
    }
  }
  return env;
}

ProcessorConfig load_config(const std::filesystem::path& path,
                            const std::map<std::string, std::string>& environment) {
  ProcessorConfig config;
  char host[256] = {};
  config.instance_id = ::gethostname(host, sizeof host - 1) == 0 && host[0] ? host : "patchstream";
  config.kafka["bootstrap.servers"] = "127.0.0.1:9092";

  Settings settings;
  toml::table root;
  if (!path.empty()) {
    try {
      root = toml::parse_file(path.string());
    } catch (const toml::parse_error& e) {
      std::ostringstream msg;
      msg << path.string() << ":" << e.source().begin.line << ":" << e.source().begin.column << ": "
          << e.description();
      throw ConfigError(msg.str());
    }
    flatten(root, "", settings);
  }
  const auto table = setters();
  for (const auto& [key, setter] : table) {
    if (auto it = environment.find(env_name(key)); it != environment.end())
      settings[key] = it->second;
  }
  for (const auto& [name, value] : environment) {
    if (name.starts_with("PATCHSTREAM_KAFKA_")) {
      std::string key = "kafka.";
      for (char ch : name.substr(18))
        key += ch == '_' ? '.' : static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      settings[key] = value;
    }
  }
  for (const auto& [key, value] : settings) {
    if (key.starts_with("kafka.")) {
      config.kafka[key.substr(6)] = value;
      continue;
    }
    auto it = table.find(key);
    if (it == table.end()) throw ConfigError(key + ": unknown key");
    it->second(config, key, value);
  }
  if (const auto* declared = root["flags"]["declare"].as_array()) {
    std::size_t i = 0;
    for (auto&& item : *declared) {
      const auto* t = item.as_table();
      if (!t) throw ConfigError("flags.declare: expected an array of tables ([[flags.declare]])");
      config.flags.declare.push_back(declared_flag(*t, i++));
    }
  }
  if (config.alert_router.backoff_max < config.alert_router.backoff_initial)
    throw ConfigError(
        "alert_router.backoff_max_ms: must not be below alert_router.backoff_initial_ms");
  if (config.processing.max_output_bytes < 1024)
    throw ConfigError("processing.max_output_bytes: too small");
  // The producer must accept every record the router emits (it counts key, value and headers;
  // the slack covers their framing), or one large output would wedge the transaction.
  constexpr std::size_t kRecordFramingBytes = 4096;
  const std::size_t needed = config.processing.max_output_bytes + kRecordFramingBytes;
  auto [max_message, added] = config.kafka.try_emplace("message.max.bytes", std::to_string(needed));
  if (!added) {
    const auto set =
        parse_int<std::size_t>("kafka.message.max.bytes", max_message->second, 1000, 1'000'000'000);
    if (set < needed)
      throw ConfigError("kafka.message.max.bytes: " + std::to_string(set) +
                        " is below processing.max_output_bytes + " +
                        std::to_string(kRecordFramingBytes) + " (" + std::to_string(needed) +
                        "): the producer would refuse outputs the processor may emit");
  }
  return config;
}

std::string_view to_string(DeliveryMode mode) noexcept {
  return mode == DeliveryMode::exactly_once ? "exactly-once" : "at-least-once";
}

std::string_view to_string(LogLevel level) noexcept {
  switch (level) {
    case LogLevel::debug:
      return "debug";
    case LogLevel::info:
      return "info";
    case LogLevel::warn:
      return "warn";
    case LogLevel::error:
      return "error";
  }
  return "info";
}

std::string describe_config(const ProcessorConfig& c) {
  const auto secret = [](const std::string& key) {
    return key.find("password") != std::string::npos || key.find("secret") != std::string::npos ||
           key.find("key") != std::string::npos || key.find("token") != std::string::npos ||
           key.find("jaas") != std::string::npos;
  };
  toml::table t;
  t.insert("instance_id", c.instance_id);
  toml::table kafka;
  for (const auto& [k, v] : c.kafka)
    kafka.insert(k, secret(k) ? std::string("****") : v);
  t.insert("kafka", kafka);
  t.insert("topics", toml::table{{"input", c.topics.input},
                                 {"results", c.topics.results},
                                 {"legacy", c.topics.legacy},
                                 {"dead_letter", c.topics.dead_letter},
                                 {"metrics", c.topics.metrics},
                                 {"alerts", c.topics.alerts},
                                 {"flags", c.topics.flags},
                                 {"flag_audit", c.topics.flag_audit}});
  t.insert(
      "processing",
      toml::table{
          {"group_id", c.processing.group_id},
          {"delivery", std::string(to_string(c.processing.delivery))},
          {"commit_every_events", static_cast<int64_t>(c.processing.commit_every_events)},
          {"commit_every_ms", static_cast<int64_t>(c.processing.commit_every.count())},
          {"flag", c.processing.flag},
          {"max_output_bytes", static_cast<int64_t>(c.processing.max_output_bytes)},
          {"shutdown_timeout_ms", static_cast<int64_t>(c.processing.shutdown_timeout.count())}});
  t.insert("limits",
           toml::table{{"max_event_bytes", static_cast<int64_t>(c.limits.max_event_bytes)},
                       {"max_patches", static_cast<int64_t>(c.limits.max_patches)},
                       {"max_snapshot_lines", static_cast<int64_t>(c.limits.max_snapshot_lines)},
                       {"max_line_bytes", static_cast<int64_t>(c.limits.max_line_bytes)},
                       {"max_reported_violations",
                        static_cast<int64_t>(c.limits.max_reported_violations)}});
  t.insert("admin",
           toml::table{{"listen", c.admin.address + ":" + std::to_string(c.admin.port)},
                       {"body_limit", static_cast<int64_t>(c.admin.body_limit)},
                       {"header_limit", static_cast<int64_t>(c.admin.header_limit)},
                       {"read_timeout_ms", static_cast<int64_t>(c.admin.read_timeout.count())},
                       {"write_timeout_ms", static_cast<int64_t>(c.admin.write_timeout.count())},
                       {"max_connections", static_cast<int64_t>(c.admin.max_connections)},
                       {"token_file", c.admin_auth.token_file.string()},
                       {"token_env", c.admin_auth.token_env}});
  t.insert("flags", toml::table{{"store", c.flags.store == FlagStoreKind::file ? "file" : "kafka"},
                                {"directory", c.flags.directory.string()}});
  t.insert("log", toml::table{{"level", std::string(to_string(c.log_level))}});
  t.insert("metrics",
           toml::table{{"interval_ms", static_cast<int64_t>(c.metrics_interval.count())}});
  const auto& r = c.alert_router;
  toml::array alertmanagers;
  for (const auto& url : r.alertmanagers)
    alertmanagers.push_back(url);
  t.insert("alert_router",
           toml::table{{"alertmanagers", alertmanagers},
                       {"group_id", r.group_id},
                       {"listen", r.listen_address + ":" + std::to_string(r.listen_port)},
                       {"batch_max_events", static_cast<int64_t>(r.batch_max_events)},
                       {"batch_max_bytes", static_cast<int64_t>(r.batch_max_bytes)},
                       {"linger_ms", static_cast<int64_t>(r.linger.count())},
                       {"request_timeout_ms", static_cast<int64_t>(r.request_timeout.count())},
                       {"backoff_initial_ms", static_cast<int64_t>(r.backoff_initial.count())},
                       {"backoff_max_ms", static_cast<int64_t>(r.backoff_max.count())},
                       {"shutdown_timeout_ms", static_cast<int64_t>(r.shutdown_timeout.count())}});
  std::ostringstream out;
  out << t << "\n";
  for (const auto& f : c.flags.declare) {
    toml::array allow, deny;
    for (const auto& u : f.allow_users)
      allow.push_back(u);
    for (const auto& u : f.deny_users)
      deny.push_back(u);
    out << "\n[[flags.declare]]\n"
        << toml::table{{"name", f.name},
                       {"enabled", f.enabled},
                       {"percentage", int64_t{f.percentage}},
                       {"group_id", f.group_id},
                       {"auto_rollback", f.auto_rollback},
                       {"allow_users", allow},
                       {"deny_users", deny}}
        << "\n";
  }
  return out.str();
}

}  // namespace patchstream
