// The alert router's own configuration section ([alert_router]): where the Alertmanagers are and
// how alert events are batched, sent and retried.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace patchstream::alert_router {

struct AlertRouterConfig {
  // Base URLs (http://host:port[/route-prefix]); every batch goes to each of them, as
  // Alertmanager's high-availability model asks of its clients.
  std::vector<std::string> alertmanagers;
  std::string group_id = "patchstream-alert-router";
  std::string listen_address = "127.0.0.1";  // its own /metrics, /healthz, /readyz
  std::uint16_t listen_port = 9095;
  std::size_t batch_max_events = 64;
  std::size_t batch_max_bytes = 1 << 20;  // one request body; a larger event is skipped
  std::chrono::milliseconds linger{50};   // how long a partial batch waits for company
  std::chrono::milliseconds request_timeout{5'000};
  std::chrono::milliseconds backoff_initial{100};
  std::chrono::milliseconds backoff_max{10'000};
  std::chrono::milliseconds shutdown_timeout{10'000};

  bool operator==(const AlertRouterConfig&) const = default;
};

}  // namespace patchstream::alert_router
