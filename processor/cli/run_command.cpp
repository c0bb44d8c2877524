// `patchstream run`: the one place the processor's object graph is built and wired.
#include "run_command.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <thread>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <unistd.h>

#include "admin/flag_routes.h"
#include "admin/http_server.h"
#include "admin/router.h"
#include "alerting/runbooks.h"
#include "config/processor_config.h"
#include "flag_store_kafka/kafka_flag_store.h"
#include "flags/file_flag_store.h"
#include "flags/flag_catalog.h"
#include "flags/flag_registry.h"
#include "logging/logger.h"
#include "metrics/metrics_route.h"
#include "metrics/processor_metrics.h"
#include "rollout/rollout_controller.h"
#include "rollout/rollout_routes.h"
#include "stream/event_router.h"
#include "stream/health.h"
#include "stream/stream_processor.h"
#include "stream/telemetry.h"

namespace patchstream {
namespace {

struct RunOptions {
  std::string config_path;
  std::string bootstrap;
  std::string instance_id;
  std::string admin_listen;
};

ProcessorConfig effective_config(const RunOptions& options) {
  auto env = current_environment();
  // Command-line options win over the environment, which wins over the file.
  if (!options.bootstrap.empty()) env["PATCHSTREAM_KAFKA_BOOTSTRAP_SERVERS"] = options.bootstrap;
  if (!options.instance_id.empty()) env["PATCHSTREAM_INSTANCE_ID"] = options.instance_id;
  if (!options.admin_listen.empty()) env["PATCHSTREAM_ADMIN_LISTEN"] = options.admin_listen;
  return load_config(options.config_path, env);
}

void add_health_routes(admin::Router& router, const HealthState& health) {
  router.add("GET", "/healthz", [](const admin::HttpRequest&) {
    return admin::json_response(200, R"({"status":"alive"})");
  });
  router.add("GET", "/readyz", [&health](const admin::HttpRequest&) {
    const bool ready = health.ready();
    std::string body = std::string(R"({"status":")") + (ready ? "ready" : "not_ready") +
                       R"(","running":)" + (health.running.load() ? "true" : "false") +
                       R"(,"flags_loaded":)" + (health.flags_loaded.load() ? "true" : "false") +
                       R"(,"broker_reachable":)" + (health.broker_reachable() ? "true" : "false") +
                       R"(,"assigned_partitions":)" +
                       std::to_string(health.assigned_partitions.load()) + "}";
    return admin::json_response(ready ? 200 : 503, std::move(body));
  });
}

// How other hosts reach this instance's admin server: a wildcard listen address is not one.
std::string admin_base_url(const admin::AdminServerConfig& admin, std::uint16_t bound_port) {
  std::string host = admin.address;
  if (host.empty() || host == "0.0.0.0" || host == "::" || host == "[::]") {
    char name[256] = {};
    host = gethostname(name, sizeof name - 1) == 0 && name[0] != '\0' ? name : "localhost";
  } else if (host.find(':') != std::string::npos && host.front() != '[') {
    host = "[" + host + "]";  // an IPv6 literal
  }
  return "http://" + host + ":" + std::to_string(bound_port);
}

// Two instances must never share an alert fingerprint: the instance label is the instance id,
// and the links lead to the admin server that raised the alert.
alerting::AlertConfig alert_identity(const ProcessorConfig& config, const std::string& admin_url) {
  alerting::AlertConfig alerts = config.alerts;
  alerts.instance = config.instance_id;
  alerts.generator_url = admin_url + "/metrics";
  if (alerts.runbook_base_url.empty()) alerts.runbook_base_url = admin_url + "/runbooks";
  return alerts;
}

void add_runbook_route(admin::Router& router) {
  router.add("GET", "/runbooks", [page = alerting::runbooks_html()](const admin::HttpRequest&) {
    return admin::text_response(200, page, "text/html; charset=utf-8");
  });
}

std::unique_ptr<flags::FlagStore> make_flag_store(const ProcessorConfig& config, Logger& log) {
  if (config.flags.store == FlagStoreKind::kafka) {
    // Every instance reads the compacted flags topic and follows it: a change reaches all of them.
    return flags::make_kafka_flag_store(config.kafka, config.topics.flags, config.topics.flag_audit,
                                        [&log](std::string_view message) {
                                          log.warn("flag store", {{"error", message}});
                                        });
  }
  flags::FileFlagStoreConfig store_config;
  store_config.directory = config.flags.directory;
  return std::make_unique<flags::FileFlagStore>(store_config);
}

// Record copies are allocated on the loop thread and freed on librdkafka's broker threads; with
// glibc's default of one arena per core times eight, that pattern left 10-15 MiB more resident at
// saturation (docs/BENCHMARKS.md, "Memory"). Two arenas keep it down at no measured cost.
// MALLOC_ARENA_MAX, when set, still wins.
void limit_malloc_arenas() {
#if defined(__GLIBC__)
  if (std::getenv("MALLOC_ARENA_MAX") == nullptr) mallopt(M_ARENA_MAX, 2);
#endif
}

int run(const RunOptions& options) {
  limit_malloc_arenas();  // before any thread exists
  const ProcessorConfig config = effective_config(options);
  Logger log(static_cast<int>(config.log_level));
  HealthState health;

  flags::FlagRegistry registry;
  auto store = make_flag_store(config, log);
  flags::FlagCatalog catalog(*store, registry);
  for (const auto& name : catalog.declare(config.flags.declare)) {
    log.info("flag declared from the configuration", {{"flag", name}});
  }
  health.flags_loaded.store(true);

  auto prometheus_registry = std::make_shared<prometheus::Registry>();
  metrics::ProcessorMetrics metrics(prometheus_registry);

  admin::Router router;
  add_health_routes(router, health);
  metrics::add_metrics_route(router, prometheus_registry);
  add_runbook_route(router);
  admin::FlagRoutesConfig flag_routes;
  flag_routes.token = admin::load_admin_token(config.admin_auth);
  if (!flag_routes.token)
    log.warn("no admin token configured: flag changes through the API are refused");
  admin::add_flag_routes(router, catalog, flag_routes);
  // Plans, auto-rollbacks and their flag writes run on the controller's worker, never on the
  // Kafka loop.
  rollout::RolloutController controller(
      {.instance_id = config.instance_id,
       .kafka = config.kafka,
       .evidence_topic = config.topics.rollout_evidence},
      catalog, log,
      {.rollback_failed = [&metrics] { metrics.auto_rollback_failed(); },
       .status_changed =
           [&metrics](const std::string& flag, const rollout::RolloutStatus& status) {
             metrics.set_rollout(flag, rollout::state_name(status.state), status.wave + 1);
           }});
  controller.start();
  rollout::add_rollout_routes(router, controller,
                              {.token = flag_routes.token,
                               .actor_header = flag_routes.actor_header,
                               .default_actor = flag_routes.default_actor});
  admin::AdminServer server(config.admin, router);
  server.start();
  log.info("admin server listening", {{"address", config.admin.address}, {"port", server.port()}});
  const std::string admin_url = admin_base_url(config.admin, server.port());

  // Signals are turned into a flag the Kafka loop checks between events.
  std::atomic<bool> stop{false};
  boost::asio::io_context signal_io;
  boost::asio::signal_set signals(signal_io, SIGINT, SIGTERM);
  boost::asio::steady_timer watchdog(signal_io);
  signals.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    log.info("signal received: stopping", {{"signal", signal}});
    stop.store(true);
    // A clean stop commits and leaves the group; if the broker cannot be reached that could
    // hang, so the stop is bounded: past the timeout the process exits non-zero instead.
    watchdog.expires_after(config.processing.shutdown_timeout + std::chrono::seconds(5));
    watchdog.async_wait([&](const boost::system::error_code& timer_ec) {
      if (timer_ec) return;
      log.error("shutdown did not finish in time; exiting without a clean group leave",
                {{"timeout_ms", config.processing.shutdown_timeout.count() + 5000}});
      std::_Exit(3);
    });
  });
  std::thread signal_thread([&] { signal_io.run(); });

  RouterSettings routing{config.instance_id,
                         config.processing.flag,
                         config.topics.results,
                         config.topics.legacy,
                         config.topics.dead_letter,
                         config.limits,
                         config.processing.max_output_bytes};
  EventRouter event_router(routing, registry);
  StreamSettings stream{config.kafka,
                        config.topics.input,
                        config.processing.group_id,
                        "patchstream-" + config.instance_id,
                        config.processing.delivery == DeliveryMode::exactly_once,
                        config.processing.commit_every_events,
                        config.processing.commit_every,
                        config.processing.shutdown_timeout,
                        {config.topics.results, config.topics.legacy, config.topics.dead_letter,
                         config.topics.metrics, config.topics.alerts}};
  Telemetry telemetry(
      {.instance_id = config.instance_id,
       .flag = config.processing.flag,
       .metrics_topic = config.topics.metrics,
       .alerts_topic = config.topics.alerts,
       .metrics_interval = config.metrics_interval,
       .alerts = alert_identity(config, admin_url),
       .evidence_topic = config.topics.rollout_evidence},
      metrics, registry,
      [&controller](std::string flag, std::string reason) {
        controller.request_rollback(std::move(flag), std::move(reason));
      },
      log);
  StreamObserver observer;
  observer.on_output = [&telemetry](const OutputRecord& out) { telemetry.on_output(out); };
  observer.on_abort = [&metrics] { metrics.transaction_aborted(); };
  observer.on_fetcher_wake = [&metrics](std::size_t) { metrics.fetcher_woken(); };
  observer.on_commit = [&metrics](std::size_t events, std::chrono::steady_clock::duration took) {
    metrics.transaction_committed(events, std::chrono::duration<double>(took).count());
  };
  observer.on_tick = [&telemetry](const Emit& emit, std::span<const PartitionLag> lag,
                                  std::size_t in_flight, double txn_age) {
    telemetry.on_tick(emit, lag, in_flight, txn_age);
  };
  StreamProcessor processor(stream, event_router, log, health, observer);
  const int code = processor.run(stop);

  signal_io.stop();
  signal_thread.join();
  server.stop();
  return code;
}

}  // namespace

void add_run_command(CLI::App& app) {
  auto options = std::make_shared<RunOptions>();
  CLI::App* cmd = app.add_subcommand(
      "run",
      "Run the stream processor: consume patch-batch events, route each user by the rollout flag "
      "to the pipeline (results topic) or the legacy topic, dead-letter undecodable input; "
      "exactly-once by default. Configuration: a TOML file plus PATCHSTREAM_* environment "
      "overrides (docs/CONFIGURATION.md); SIGINT/SIGTERM stop it cleanly.");
  cmd->add_option("-c,--config", options->config_path, "TOML configuration file")
      ->envname("PATCHSTREAM_CONFIG");
  cmd->add_option("--bootstrap", options->bootstrap,
                  "Kafka bootstrap servers (kafka.bootstrap.servers)");
  cmd->add_option("--instance-id", options->instance_id,
                  "stable instance id (transactional.id, ce_source)");
  cmd->add_option("--admin-listen", options->admin_listen,
                  "admin/metrics server HOST:PORT (default 127.0.0.1:9000)");
  cmd->callback([options] {
    try {
      if (int code = run(*options)) throw CLI::RuntimeError(code);
    } catch (const CLI::Error&) {
      throw;  // a runtime_error too, but already the exit status
    } catch (const ConfigError& e) {
      std::cerr << "patchstream run: configuration error: " << e.what() << "\n";
      throw CLI::RuntimeError(2);
    } catch (const std::system_error& e) {
      std::cerr << "patchstream run: " << e.what() << "\n";
      throw CLI::RuntimeError(2);
    } catch (const std::runtime_error& e) {
      // A part failed to start (e.g. the Kafka flag store could not create or read its topics):
      // the reason and status 1, instead of std::terminate's abort.
      std::cerr << "patchstream run: startup failed: " << e.what() << "\n";
      throw CLI::RuntimeError(1);
    }
  });
}

void add_config_command(CLI::App& app) {
  auto options = std::make_shared<RunOptions>();
  CLI::App* cmd = app.add_subcommand(
      "config",
      "Print the effective configuration (file + environment), secrets masked, and exit.");
  cmd->add_option("-c,--config", options->config_path, "TOML configuration file")
      ->envname("PATCHSTREAM_CONFIG");
  cmd->callback([options] {
    try {
      std::cout << describe_config(effective_config(*options));
    } catch (const ConfigError& e) {
      std::cerr << "patchstream config: configuration error: " << e.what() << "\n";
      throw CLI::RuntimeError(2);
    }
  });
}

}  // namespace patchstream
