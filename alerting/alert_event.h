// Alert events (SPEC §2): one Alertmanager postable alert per record, keyed by the fingerprint of
// its labels, with its status (firing|resolved) for the patchstream-alert-status header.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "alerting/timestamp.h"

namespace patchstream::alerting {

inline constexpr std::string_view kAlertStatusHeader = "patchstream-alert-status";

enum class Severity : std::uint8_t { warning, critical };
// Per-route alerts say pipeline or legacy; process-wide ones (memory, lag, dead letters) say all.
enum class AlertRoute : std::uint8_t { pipeline, legacy, all };
enum class AlertStatus : std::uint8_t { firing, resolved };

std::string_view severity_name(Severity severity) noexcept;
std::string_view alert_route_name(AlertRoute route) noexcept;
std::string_view alert_status_name(AlertStatus status) noexcept;

using Labels = std::vector<std::pair<std::string, std::string>>;

// Prometheus's and Alertmanager's label-set fingerprint (FNV-1a 64 over the labels sorted by
// name, each name and value followed by 0xff), as 16 hex digits: Alertmanager reports the same
// string as an alert's `fingerprint`.
std::string label_fingerprint(Labels labels);

struct AlertEvent {
  std::string key;  // label_fingerprint(labels): the Kafka record key
  AlertStatus status = AlertStatus::firing;
  std::string value;           // the postable alert, compact JSON
  std::string_view alertname;  // static storage
  Severity severity = Severity::warning;
  AlertRoute route = AlertRoute::all;

  // SPEC §3 guarded rollout: a critical alert about the pipeline route rolls its flags back.
  bool triggers_rollback() const noexcept {
    return status == AlertStatus::firing && severity == Severity::critical &&
           route == AlertRoute::pipeline;
  }
};

struct PostableAlert {
  Labels labels;
  Labels annotations;
  WallTime starts_at;
  WallTime ends_at;
  std::string generator_url;
};

// The postable alert as compact JSON: {"labels":{...},"annotations":{...},"startsAt":...}.
std::string to_json(const PostableAlert& alert);

}  // namespace patchstream::alerting
