// Configuration: one table of key descriptors reads the TOML file (toml++) and the environment
// overrides, prints `patchstream config` and lists the keys for the docs' check.
#include "processor_config.h"

#include "alert_router/alertmanager_client.h"

#include <unistd.h>

#include <toml++/toml.h>
#include <charconv>
#include <concepts>
#include <functional>
#include <span>
#include <sstream>
#include <type_traits>
#include <variant>

extern char** environ;

namespace patchstream {
namespace {

using Settings = std::map<std::string, std::string>;

// A value as describe_config prints it: it keeps its TOML type.
using Value = std::variant<std::string, std::int64_t, double>;

// One key of the file: how it reads (from the file or the environment, both as text) and how it
// prints. The table of these is the only list of keys.
struct KeyDescriptor {
  std::string key;  // "section.name", or "name" at the top level
  std::string type;
  std::string doc;
  std::function<void(ProcessorConfig&, const std::string& key, const std::string& text)> parse;
  std::function<Value(const ProcessorConfig&)> print;
};

// Strings always in double quotes, as the docs write them.
constexpr auto kTomlFormat = toml::format_flags::indentation;

std::string toml_text(const toml::table& table) {
  std::ostringstream out;
  out << toml::toml_formatter(table, kTomlFormat);
  return out.str();
}

// The shortest text that reads back as the same double (std::to_string keeps 6 decimals; toml++
// built without floating-point charconv prints 17 digits).
std::string shortest(double v) {
  char buf[32];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, end);
}

std::string toml_text(const Value& value) {
  if (const auto* s = std::get_if<std::string>(&value)) {
    std::ostringstream out;
    out << toml::toml_formatter(toml::value<std::string>(*s), kTomlFormat);
    return out.str();
  }
  if (const auto* i = std::get_if<std::int64_t>(&value)) return std::to_string(*i);
  std::string text = shortest(std::get<double>(value));
  if (text.find_first_of(".e") == std::string::npos) text += ".0";  // 600 would read as integer
  return text;
}

std::string scalar_text(const toml::node& node, const std::string& key) {
  if (auto s = node.value<std::string>()) return *s;
  if (auto b = node.as_boolean()) return b->get() ? "true" : "false";
  if (auto i = node.as_integer()) return std::to_string(i->get());
  if (auto f = node.as_floating_point()) return shortest(f->get());
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

std::string range(std::integral auto min, std::integral auto max) {
  return std::to_string(min) + ".." + std::to_string(max);
}
std::string range(double min, double max) {
  return shortest(min) + ".." + shortest(max);
}

template <typename Int>
Int parse_int(const std::string& key, const std::string& text, Int min, Int max) {
  Int v{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < min || v > max) {
    throw ConfigError(key + ": expected an integer in " + range(min, max) + ", got '" + text + "'");
  }
  return v;
}

double parse_double(const std::string& key, const std::string& text, double min, double max) {
  double v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || !(v >= min && v <= max)) {
    throw ConfigError(key + ": expected a number in " + range(min, max) + ", got '" + text + "'");
  }
  return v;
}

bool parse_bool(const std::string& key, const std::string& text) {
  if (text == "true") return true;
  if (text == "false") return false;
  throw ConfigError(key + ": expected true or false, got '" + text + "'");
}

// The typed helpers below take the field as an accessor, `field(&ProcessorConfig::limits,
// &Limits::max_patches)`, that works on a const and a mutable config alike.
template <typename F>
auto field(F ProcessorConfig::*member) {
  return [member](auto& c) -> auto& {
    return c.*member;
  };
}
template <typename S, typename F>
auto field(S ProcessorConfig::*section, F S::*member) {
  return [ section, member ](auto& c) -> auto& {
    return (c.*section).*member;
  };
}
template <typename Get>
using FieldOf = std::remove_cvref_t<std::invoke_result_t<Get, ProcessorConfig&>>;

template <typename Get>
KeyDescriptor integer(std::string key, Get get, std::int64_t min, std::int64_t max,
                      std::string doc) {
  return {std::move(key), "integer " + range(min, max), std::move(doc),
          [get, min, max](ProcessorConfig& c, const std::string& k, const std::string& v) {
            get(c) = static_cast<FieldOf<Get>>(parse_int<std::int64_t>(k, v, min, max));
          },
          [get](const ProcessorConfig& c) -> Value { return static_cast<std::int64_t>(get(c)); }};
}

template <typename Get>
KeyDescriptor milliseconds(std::string key, Get get, std::int64_t min, std::int64_t max,
                           std::string doc) {
  return {std::move(key), "milliseconds " + range(min, max), std::move(doc),
          [get, min, max](ProcessorConfig& c, const std::string& k, const std::string& v) {
            get(c) = std::chrono::milliseconds(parse_int<std::int64_t>(k, v, min, max));
          },
          [get](const ProcessorConfig& c) -> Value {
            return static_cast<std::int64_t>(get(c).count());
          }};
}

// The file says `written`, the config holds `written / unit` (latency: ms in, seconds held).
template <typename Get>
KeyDescriptor number(std::string key, Get get, double max, double unit, std::string doc) {
  return {std::move(key), "number " + range(0.0, max), std::move(doc),
          [get, max, unit](ProcessorConfig& c, const std::string& k, const std::string& v) {
            get(c) = parse_double(k, v, 0, max) / unit;
          },
          [get, unit](const ProcessorConfig& c) -> Value { return get(c) * unit; }};
}

enum class TextRule { any, non_empty, flag_name };

template <typename Get>
KeyDescriptor text(std::string key, Get get, TextRule rule, std::string doc) {
  static constexpr std::string_view kTypes[] = {"string", "non-empty string", "flag name"};
  return {std::move(key), std::string(kTypes[static_cast<int>(rule)]), std::move(doc),
          [get, rule](ProcessorConfig& c, const std::string& k, const std::string& v) {
            if (rule != TextRule::any && v.empty()) throw ConfigError(k + ": must not be empty");
            if (rule == TextRule::flag_name)
              if (auto e = flags::check_flag_name(v)) throw ConfigError(k + ": " + e->message);
            get(c) = v;
          },
          [get](const ProcessorConfig& c) -> Value {
            if constexpr (std::is_same_v<FieldOf<Get>, std::filesystem::path>)
              return get(c).string();
            else
              return get(c);
          }};
}

template <typename E>
using Names = std::span<const std::pair<E, std::string_view>>;

constexpr std::pair<DeliveryMode, std::string_view> kDeliveryModes[] = {
    {DeliveryMode::exactly_once, "exactly-once"}, {DeliveryMode::at_least_once, "at-least-once"}};
constexpr std::pair<FlagStoreKind, std::string_view> kFlagStores[] = {
    {FlagStoreKind::file, "file"}, {FlagStoreKind::kafka, "kafka"}};
constexpr std::pair<LogLevel, std::string_view> kLogLevels[] = {{LogLevel::debug, "debug"},
                                                                {LogLevel::info, "info"},
                                                                {LogLevel::warn, "warn"},
                                                                {LogLevel::error, "error"}};

template <typename E>
std::string_view name_of(Names<E> names, E value) noexcept {
  for (const auto& [v, name] : names)
    if (v == value) return name;
  return "?";
}

template <typename Get, typename E = FieldOf<Get>>
KeyDescriptor choice(std::string key, Get get, std::type_identity_t<Names<E>> names,
                     std::string doc) {
  std::string type, expected;
  std::size_t i = 0;
  for (const auto& [value, name] : names) {
    ++i;
    type += (i > 1 ? " / " : "") + std::string(name);
    expected += (i == 1 ? "" : i == names.size() ? " or " : ", ") + std::string(name);
  }
  return {std::move(key), std::move(type), std::move(doc),
          [get, names, expected](ProcessorConfig& c, const std::string& k, const std::string& v) {
            for (const auto& [value, name] : names) {
              if (name == v) {
                get(c) = value;
                return;
              }
            }
            throw ConfigError(k + ": expected " + expected + ", got '" + v + "'");
          },
          [get, names](const ProcessorConfig& c) -> Value {
            return std::string(name_of(names, get(c)));
          }};
}

template <typename GetHost, typename GetPort>
KeyDescriptor host_port(std::string key, GetHost host, GetPort port, std::string doc) {
  return {std::move(key), "HOST:PORT", std::move(doc),
          [host, port](ProcessorConfig& c, const std::string& k, const std::string& v) {
            const auto colon = v.rfind(':');
            if (colon == std::string::npos || colon == 0)
              throw ConfigError(k + ": expected HOST:PORT, got '" + v + "'");
            host(c) = v.substr(0, colon);
            port(c) = parse_int<std::uint16_t>(k, v.substr(colon + 1), 0, 65535);
          },
          [host, port](const ProcessorConfig& c) -> Value {
            return host(c) + ":" + std::to_string(port(c));
          }};
}

// Comma-separated Alertmanager base URLs, each checked.
KeyDescriptor alertmanager_urls(std::string key, std::string doc) {
  return {std::move(key), "comma-separated http:// URLs", std::move(doc),
          [](ProcessorConfig& c, const std::string& k, const std::string& v) {
            auto& urls = c.alert_router.alertmanagers;
            urls.clear();
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
              urls.push_back(std::move(url));
            }
          },
          [](const ProcessorConfig& c) -> Value {
            std::string joined;
            for (const auto& url : c.alert_router.alertmanagers)
              joined += (joined.empty() ? "" : ",") + url;
            return joined;
          }};
}

// Every key of the file, in the order `patchstream config` prints them. Defaults are the
// structs' own; docs/CONFIGURATION.md and docs/patchstream.example.toml are checked against it.
std::vector<KeyDescriptor> make_descriptors() {
  using P = ProcessorConfig;
  using alerting::AlertConfig;
  using enum TextRule;
  std::vector<KeyDescriptor> t;
  t.push_back(text("instance_id", field(&P::instance_id), non_empty,
                   "default: the host name; stable per instance (transactional.id = "
                   "patchstream-<instance_id>)"));

  const auto topic = [&](const char* name, std::string TopicNames::*member, const char* doc) {
    t.push_back(text(std::string("topics.") + name, field(&P::topics, member), non_empty, doc));
  };
  topic("input", &TopicNames::input, "patch batches to process");
  topic("results", &TopicNames::results, "results of the new pipeline");
  topic("legacy", &TopicNames::legacy, "events the flag routes to the legacy processor");
  topic("dead_letter", &TopicNames::dead_letter, "events that cannot be processed, with why");
  topic("metrics", &TopicNames::metrics, "metric events, every metrics.interval_ms");
  topic("alerts", &TopicNames::alerts, "alert events (Alertmanager postable alerts)");
  topic("flags", &TopicNames::flags, "compacted, key = flag name (flags.store = \"kafka\")");
  topic("flag_audit", &TopicNames::flag_audit,
        "append-only flag change log (flags.store = "
        "\"kafka\")");
  topic("rollout_evidence", &TopicNames::rollout_evidence,
        "compacted, key = flag/instance: each instance's pipeline samples since the last "
        "percentage change, which rollout plans are judged on");

  t.push_back(text("processing.group_id", field(&P::processing, &ProcessingConfig::group_id),
                   non_empty, "the consumer group of the input"));
  t.push_back(choice("processing.delivery", field(&P::processing, &ProcessingConfig::delivery),
                     kDeliveryModes,
                     "at-least-once for clusters without transactions (duplicates possible)"));
  t.push_back(integer("processing.commit_every_events",
                      field(&P::processing, &ProcessingConfig::commit_every_events), 1, 1'000'000,
                      "a cap for backlogs: a caught-up instance commits by time"));
  t.push_back(milliseconds("processing.commit_every_ms",
                           field(&P::processing, &ProcessingConfig::commit_every), 1, 60'000,
                           "commit (end the transaction) this often"));
  t.push_back(text("processing.flag", field(&P::processing, &ProcessingConfig::flag), flag_name,
                   "the rollout flag that routes each user"));
  t.push_back(integer("processing.max_output_bytes",
                      field(&P::processing, &ProcessingConfig::max_output_bytes), 1024,
                      1'000'000'000,
                      "largest output record (key + value + headers); larger results are "
                      "dead-lettered"));
  t.push_back(milliseconds("processing.shutdown_timeout_ms",
                           field(&P::processing, &ProcessingConfig::shutdown_timeout), 100, 600'000,
                           "on SIGTERM, time to finish and commit before giving up"));

  const auto limit = [&](const char* name, std::size_t Limits::*member, std::int64_t max,
                         const char* doc) {
    t.push_back(integer(std::string("limits.") + name, field(&P::limits, member), 1, max, doc));
  };
  limit("max_event_bytes", &Limits::max_event_bytes, std::int64_t{1} << 30,
        "larger events are dead-lettered as too_large before any parsing");
  limit("max_patches", &Limits::max_patches, 10'000'000, "patches in one batch");
  limit("max_snapshot_lines", &Limits::max_snapshot_lines, 100'000'000,
        "lines of a document snapshot");
  limit("max_line_bytes", &Limits::max_line_bytes, std::int64_t{1} << 30, "bytes of one line");
  limit("max_reported_violations", &Limits::max_reported_violations, 100'000,
        "beyond this many, violations are counted but not itemized in the result");

  using A = admin::AdminServerConfig;
  t.push_back(host_port("admin.listen", field(&P::admin, &A::address), field(&P::admin, &A::port),
                        "the admin HTTP server (health, metrics, flags API)"));
  t.push_back(integer("admin.body_limit", field(&P::admin, &A::body_limit), 1024, 64 << 20,
                      "larger request bodies get 413"));
  t.push_back(integer("admin.header_limit", field(&P::admin, &A::header_limit), 1024, 1 << 20,
                      "larger request heads get 431"));
  t.push_back(milliseconds("admin.read_timeout_ms", field(&P::admin, &A::read_timeout), 100,
                           600'000, "a whole request, and idle time between requests"));
  t.push_back(milliseconds("admin.write_timeout_ms", field(&P::admin, &A::write_timeout), 100,
                           600'000, "a client that does not read its answer is dropped"));
  t.push_back(integer("admin.max_connections", field(&P::admin, &A::max_connections), 1, 100'000,
                      "more at once get 503 too_many_connections"));
  t.push_back(text("admin.token_env", field(&P::admin_auth, &admin::AdminAuthConfig::token_env),
                   non_empty, "the variable holding the admin bearer token ..."));
  t.push_back(text("admin.token_file", field(&P::admin_auth, &admin::AdminAuthConfig::token_file),
                   any, "... unless a file holding it is named here"));

  t.push_back(choice("flags.store", field(&P::flags, &FlagsConfig::store), kFlagStores,
                     "where flag states live: files or the topics.flags topic"));
  t.push_back(text("flags.directory", field(&P::flags, &FlagsConfig::directory), non_empty,
                   "the file store's directory"));
  t.push_back(choice("log.level", field(&P::log_level), kLogLevels, "JSON log lines on stderr"));
  t.push_back(milliseconds("metrics.interval_ms", field(&P::metrics_interval), 100, 3'600'000,
                           "metric events to topics.metrics this often"));

  const auto alert_ms = [&](const char* name, alerting::Duration AlertConfig::*member,
                            const char* doc) {
    t.push_back(
        milliseconds(std::string("alerts.") + name, field(&P::alerts, member), 1, 86'400'000, doc));
  };
  alert_ms("window_ms", &AlertConfig::window,
           "sliding window for rates, latency, violations, dead letters");
  t.push_back(integer("alerts.window_slots", field(&P::alerts, &AlertConfig::window_slots), 1, 3600,
                      "the window slides by window_ms / window_slots"));
  t.push_back(integer("alerts.min_samples", field(&P::alerts, &AlertConfig::min_samples), 1,
                      1'000'000'000, "fewer batches of a route in the window: rate alerts hold"));
  alert_ms("resend_interval_ms", &AlertConfig::resend_interval,
           "a firing alert is re-sent this often, endsAt = now + 4x");
  alert_ms("stall_after_ms", &AlertConfig::stall_after,
           "consumer lag critical: lag > 0 and no progress this long");
  alert_ms("lag_window_ms", &AlertConfig::lag_window,
           "consumer lag warning: lag > 0 throughout and grew");
  alert_ms("memory_warmup_ms", &AlertConfig::memory_warmup,
           "the memory baseline is taken this long after the start");
  const auto levels = [&](const char* name, alerting::Levels<double> AlertConfig::*member,
                          double max, double unit, const char* what) {
    for (const auto& [severity, level] :
         {std::pair{"warning", &alerting::Levels<double>::warning},
          std::pair{"critical", &alerting::Levels<double>::critical}}) {
      auto get = [ member, level ](auto& c) -> auto& {
        return (c.alerts.*member).*level;
      };
      t.push_back(number(std::string("alerts.") + name + "_" + severity, get, max, unit,
                         std::string(severity) + " " + what));
    }
  };
  levels("error_rate", &AlertConfig::error_rate, 1, 1, "when a route's error rate is above");
  levels("success_rate", &AlertConfig::success_rate, 1, 1, "when a route's success rate is below");
  levels("latency_p95_ms", &AlertConfig::latency_p95, 3'600'000, 1000,
         "when a route's p95 latency is above");
  levels("latency_p99_ms", &AlertConfig::latency_p99, 3'600'000, 1000,
         "when a route's p99 latency is above");
  t.push_back(text("alerts.runbook_base_url", field(&P::alerts, &AlertConfig::runbook_base_url),
                   any,
                   "alerts link to this + \"#\" + alertname; empty: the runbooks this instance "
                   "serves at /runbooks"));

  // [alert_router]: `patchstream alert-router` only.
  using R = alert_router::AlertRouterConfig;
  t.push_back(alertmanager_urls("alert_router.alertmanagers",
                                "every batch of alert events is POSTed to each of them"));
  t.push_back(text("alert_router.group_id", field(&P::alert_router, &R::group_id), non_empty,
                   "the router's consumer group on topics.alerts"));
  t.push_back(host_port("alert_router.listen", field(&P::alert_router, &R::listen_address),
                        field(&P::alert_router, &R::listen_port),
                        "the router's own /metrics, /healthz, /readyz"));
  t.push_back(integer("alert_router.batch_max_events",
                      field(&P::alert_router, &R::batch_max_events), 1, 10'000,
                      "alert events per request at most"));
  t.push_back(integer("alert_router.batch_max_bytes", field(&P::alert_router, &R::batch_max_bytes),
                      1024, 64 << 20, "one request body at most; a larger event is skipped"));
  t.push_back(milliseconds("alert_router.linger_ms", field(&P::alert_router, &R::linger), 0, 60'000,
                           "how long a partial batch waits for more events"));
  t.push_back(milliseconds("alert_router.request_timeout_ms",
                           field(&P::alert_router, &R::request_timeout), 100, 600'000,
                           "one POST to one Alertmanager"));
  t.push_back(milliseconds("alert_router.backoff_initial_ms",
                           field(&P::alert_router, &R::backoff_initial), 1, 600'000,
                           "first retry delay while an Alertmanager is down (doubles)"));
  t.push_back(milliseconds("alert_router.backoff_max_ms", field(&P::alert_router, &R::backoff_max),
                           1, 3'600'000, "retry delay cap"));
  t.push_back(milliseconds("alert_router.shutdown_timeout_ms",
                           field(&P::alert_router, &R::shutdown_timeout), 100, 600'000,
                           "SIGTERM: how long to finish the batch in flight"));
  return t;
}

const std::vector<KeyDescriptor>& descriptors() {
  static const std::vector<KeyDescriptor> table = make_descriptors();
  return table;
}

const KeyDescriptor* find_descriptor(std::string_view key) {
  for (const auto& d : descriptors())
    if (d.key == key) return &d;
  return nullptr;
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
  for (const auto& d : descriptors()) {
    if (auto it = environment.find(env_name(d.key)); it != environment.end())
      settings[d.key] = it->second;
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
    const KeyDescriptor* d = find_descriptor(key);
    if (!d) throw ConfigError(key + ": unknown key");
    d->parse(config, key, value);
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
  return name_of<DeliveryMode>(kDeliveryModes, mode);
}

std::string_view to_string(LogLevel level) noexcept {
  return name_of<LogLevel>(kLogLevels, level);
}

std::string describe_config(const ProcessorConfig& c) {
  const auto secret = [](const std::string& key) {
    return key.find("password") != std::string::npos || key.find("secret") != std::string::npos ||
           key.find("key") != std::string::npos || key.find("token") != std::string::npos ||
           key.find("jaas") != std::string::npos;
  };
  std::ostringstream out;
  std::string section;
  const auto start_section = [&](const std::string& name) {
    if (name != section) out << "\n[" << name << "]\n";
    section = name;
  };
  for (const auto& d : descriptors()) {
    const auto dot = d.key.find('.');
    if (dot == std::string::npos) {  // the top-level keys come first in the table
      out << d.key << " = " << toml_text(d.print(c)) << "\n";
      continue;
    }
    if (section.empty()) {
      toml::table kafka;
      for (const auto& [k, v] : c.kafka)
        kafka.insert(k, secret(k) ? std::string("****") : v);
      out << "\n" << toml_text(toml::table{{"kafka", kafka}}) << "\n";
    }
    start_section(d.key.substr(0, dot));
    out << d.key.substr(dot + 1) << " = " << toml_text(d.print(c)) << "\n";
  }
  for (const auto& f : c.flags.declare) {
    toml::array allow, deny;
    for (const auto& u : f.allow_users)
      allow.push_back(u);
    for (const auto& u : f.deny_users)
      deny.push_back(u);
    out << "\n[[flags.declare]]\n"
        << toml_text(toml::table{{"name", f.name},
                                 {"enabled", f.enabled},
                                 {"percentage", int64_t{f.percentage}},
                                 {"group_id", f.group_id},
                                 {"auto_rollback", f.auto_rollback},
                                 {"allow_users", allow},
                                 {"deny_users", deny},
                                 {"reason", f.reason}})
        << "\n";
  }
  return out.str();
}

const std::vector<ConfigKey>& config_keys() {
  static const std::vector<ConfigKey> keys = [] {
    const ProcessorConfig defaults;
    std::vector<ConfigKey> out;
    for (const auto& d : descriptors())
      out.push_back({d.key, d.type, toml_text(d.print(defaults)), d.doc});
    return out;
  }();
  return keys;
}

}  // namespace patchstream
