// The HTTP client that posts alert batches to one Alertmanager (Boost.Beast, plain HTTP/1.1).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "alert_router/delivery.h"

namespace patchstream::alert_router {

struct AlertmanagerUrl {
  std::string host;
  std::string port = "80";
  std::string path_prefix;  // Alertmanager's --web.route-prefix, without the trailing slash
};

// "http://host[:port][/prefix]"; nullopt for anything else (https is not supported: put a local
// TLS-terminating proxy in front, or run the router beside Alertmanager).
std::optional<AlertmanagerUrl> parse_alertmanager_url(std::string_view url);

class AlertmanagerClient final : public AlertSender {
 public:
  // `url` must parse (the configuration checked it).
  AlertmanagerClient(std::string url, std::chrono::milliseconds timeout);

  const std::string& name() const override { return name_; }
  // One request on a fresh connection, bounded by the timeout from connect to the last byte read.
  SendOutcome post_alerts(std::string_view body) override;

 private:
  std::string name_;
  AlertmanagerUrl url_;
  std::string target_;
  std::chrono::milliseconds timeout_;
};

}  // namespace patchstream::alert_router
