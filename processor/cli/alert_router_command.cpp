// `patchstream alert-router`: the one place the router's object graph is built and wired.
#include "alert_router_command.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "admin/http_server.h"
#include "admin/router.h"
#include "alert_router/alert_router.h"
#include "alert_router/alertmanager_client.h"
#include "config/processor_config.h"
#include "logging/logger.h"
#include "metrics/metrics_route.h"

namespace patchstream {
namespace {

struct AlertRouterOptions {
  std::string config_path;
  std::string bootstrap;
  std::string listen;
  std::vector<std::string> alertmanagers;
};

ProcessorConfig effective_config(const AlertRouterOptions& options) {
  auto env = current_environment();
  // Command-line options win over the environment, which wins over the file.
  if (!options.bootstrap.empty()) env["PATCHSTREAM_KAFKA_BOOTSTRAP_SERVERS"] = options.bootstrap;
  if (!options.listen.empty()) env["PATCHSTREAM_ALERT_ROUTER_LISTEN"] = options.listen;
  if (!options.alertmanagers.empty()) {
    std::string joined;
    for (const auto& url : options.alertmanagers)
      joined += (joined.empty() ? "" : ",") + url;
    env["PATCHSTREAM_ALERT_ROUTER_ALERTMANAGERS"] = joined;
  }
  auto config = load_config(options.config_path, env);
  if (config.alert_router.alertmanagers.empty())
    throw ConfigError("alert_router.alertmanagers: at least one Alertmanager URL is required");
  return config;
}

void add_health_routes(admin::Router& router, const alert_router::RouterHealth& health) {
  router.add("GET", "/healthz", [](const admin::HttpRequest&) {
    return admin::json_response(200, R"({"status":"alive"})");
  });
  router.add("GET", "/readyz", [&health](const admin::HttpRequest&) {
    const bool ready = health.ready();
    const auto flag = [](bool b) { return b ? "true" : "false"; };
    std::string body = std::string(R"({"status":")") + (ready ? "ready" : "not_ready") +
                       R"(","running":)" + flag(health.running.load()) + R"(,"subscribed":)" +
                       flag(health.subscribed.load()) + R"(,"broker_reachable":)" +
                       flag(!health.broker_down.load()) + R"(,"delivering":)" +
                       flag(!health.blocked.load()) + "}";
    return admin::json_response(ready ? 200 : 503, std::move(body));
  });
}

int run_alert_router(const AlertRouterOptions& options) {
  const ProcessorConfig config = effective_config(options);
  const auto& rc = config.alert_router;
  Logger log(static_cast<int>(config.log_level));
  alert_router::RouterHealth health;
  std::atomic<bool> stop{false};

  auto registry = std::make_shared<prometheus::Registry>();
  alert_router::RouterMetrics metrics(registry, rc.alertmanagers);
  admin::Router router;
  add_health_routes(router, health);
  metrics::add_metrics_route(router, registry);
  admin::AdminServerConfig admin = config.admin;
  admin.address = rc.listen_address;
  admin.port = rc.listen_port;
  admin::AdminServer server(admin, router);
  server.start();
  log.info("alert router admin server listening",
           {{"address", admin.address}, {"port", server.port()}});

  boost::asio::io_context signal_io;
  boost::asio::signal_set signals(signal_io, SIGINT, SIGTERM);
  boost::asio::steady_timer watchdog(signal_io);
  signals.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    log.info("signal received: stopping", {{"signal", signal}});
    stop.store(true);
    // A request in flight ends within its timeout and leaving the group needs the broker; past
    // both the process exits non-zero rather than hang (the offsets stay uncommitted: re-sent).
    const auto limit = rc.shutdown_timeout + rc.request_timeout;
    watchdog.expires_after(limit);
    watchdog.async_wait([&, limit](const boost::system::error_code& timer_ec) {
      if (timer_ec) return;
      log.error("shutdown did not finish in time; exiting without a clean group leave",
                {{"timeout_ms", limit.count()}});
      std::_Exit(3);
    });
  });
  std::thread signal_thread([&] { signal_io.run(); });

  std::vector<std::unique_ptr<alert_router::AlertSender>> senders;
  for (const auto& url : rc.alertmanagers)
    senders.push_back(std::make_unique<alert_router::AlertmanagerClient>(url, rc.request_timeout));
  int code = 0;
  {
    alert_router::DeliveryWorker worker(std::move(senders), rc.backoff_initial, rc.backoff_max,
                                        metrics, health, log, stop);
    alert_router::AlertRouter loop({config.kafka, config.topics.alerts, rc.group_id,
                                    rc.batch_max_events, rc.batch_max_bytes, rc.linger},
                                   worker, metrics, health, log);
    log.info("alert router started", {{"alertmanagers", rc.alertmanagers.size()}});
    code = loop.run(stop);
    stop.store(true);  // a fatal Kafka error ends the worker's retries too
  }
  signal_io.stop();
  signal_thread.join();
  server.stop();
  return code;
}

}  // namespace

void add_alert_router_command(CLI::App& app) {
  auto options = std::make_shared<AlertRouterOptions>();
  CLI::App* cmd = app.add_subcommand(
      "alert-router",
      "Deliver the alert topic to Alertmanager: a consumer group (read_committed) whose batches "
      "are posted to every configured Alertmanager (POST /api/v2/alerts); offsets are committed "
      "only after all of them answered 2xx, so an outage or a crash re-sends instead of losing. "
      "Configuration: the [alert_router] section (docs/CONFIGURATION.md); SIGINT/SIGTERM stop it "
      "cleanly.");
  cmd->add_option("-c,--config", options->config_path, "TOML configuration file")
      ->envname("PATCHSTREAM_CONFIG");
  cmd->add_option("--bootstrap", options->bootstrap,
                  "Kafka bootstrap servers (kafka.bootstrap.servers)");
  cmd->add_option("--listen", options->listen,
                  "its /metrics, /healthz, /readyz server HOST:PORT (alert_router.listen, default "
                  "127.0.0.1:9095)");
  cmd->add_option("--alertmanager", options->alertmanagers,
                  "Alertmanager base URL, repeatable (alert_router.alertmanagers)");
  cmd->callback([options] {
    try {
      if (int code = run_alert_router(*options)) throw CLI::RuntimeError(code);
    } catch (const CLI::Error&) {
      throw;
    } catch (const ConfigError& e) {
      std::cerr << "patchstream alert-router: configuration error: " << e.what() << "\n";
      throw CLI::RuntimeError(2);
    } catch (const std::system_error& e) {
      std::cerr << "patchstream alert-router: " << e.what() << "\n";
      throw CLI::RuntimeError(2);
    }
  });
}

}  // namespace patchstream
