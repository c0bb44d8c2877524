// Alert event encoding: names, fingerprint, Alertmanager postable alert JSON.
#include "alerting/alert_event.h"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace patchstream::alerting {

std::string_view severity_name(Severity severity) noexcept {
  return severity == Severity::critical ? "critical" : "warning";
}

std::string_view alert_route_name(AlertRoute route) noexcept {
  switch (route) {
    case AlertRoute::pipeline:
      return "pipeline";
    case AlertRoute::legacy:
      return "legacy";
    case AlertRoute::all:
      return "all";
  }
  return "all";
}

std::string_view alert_status_name(AlertStatus status) noexcept {
  return status == AlertStatus::firing ? "firing" : "resolved";
}

std::string label_fingerprint(Labels labels) {
  std::sort(labels.begin(), labels.end());
  std::uint64_t hash = 14695981039346656037ull;
  const auto add = [&hash](std::string_view text) {
    for (const unsigned char c : text) {
      hash ^= c;
      hash *= 1099511628211ull;
    }
    hash ^= 0xffu;
    hash *= 1099511628211ull;
  };
  for (const auto& [name, value] : labels) {
    add(name);
    add(value);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string text(16, '0');
  for (int i = 15; i >= 0; --i, hash >>= 4)
    text[static_cast<std::size_t>(i)] = kHex[hash & 0xf];
  return text;
}

std::string to_json(const PostableAlert& alert) {
  nlohmann::ordered_json json;
  auto& labels = json["labels"] = nlohmann::ordered_json::object();
  for (const auto& [name, value] : alert.labels)
    labels[name] = value;
  auto& annotations = json["annotations"] = nlohmann::ordered_json::object();
  for (const auto& [name, value] : alert.annotations)
    annotations[name] = value;
  json["startsAt"] = format_rfc3339(alert.starts_at);
  json["endsAt"] = format_rfc3339(alert.ends_at);
  json["generatorURL"] = alert.generator_url;
  return json.dump();
}

}  // namespace patchstream::alerting
