// The rollout subcommands: the plan file to POST /admin/rollouts, the controls, a status summary.
#include "cli/rollout_command.h"

#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/admin_session.h"

namespace patchstream {
namespace {

using nlohmann::json;

class RolloutCli : public AdminSession {
 public:
  using AdminSession::AdminSession;

  std::string flag;
  std::string plan_file;

  void start() {
    std::ifstream in(plan_file);
    if (!in) {
      err_ << "error: cannot read the plan " << plan_file << "\n";
      fail();
    }
    std::stringstream body;
    body << in.rdbuf();
    show(call("POST", "/admin/rollouts", body.str()).body);
  }

  void status() { show(call("GET", "/admin/rollouts/" + flag).body); }

  void control(const char* name) {
    show(call("POST", "/admin/rollouts/" + flag + "/" + name, "{}").body);
  }

 private:
  void show(const std::string& body) {
    if (connection.json) return print_json(body);
    const json s = json::parse(body);
    out_ << s["flag"].get<std::string>() << ": plan v" << s["version"] << " " << text(s["state"])
         << ", wave " << s["wave_number"] << " of " << s["plan"]["waves"].size() << " ("
         << s["wave_percentage"] << " %), flag at " << s["percentage"] << " %, held "
         << s["held_ms"].get<std::int64_t>() / 1000 << " s\n";
    out_ << "  last transition: " << text(s["reason"]) << "\n";
    const json& gates = s.contains("live") ? s["live"]["gates"] : s["gates"];
    for (const json& g : gates) {
      out_ << "  gate " << text(g["metric"]) << ": " << text(g["result"]) << " (value "
           << g["value"] << ", threshold " << g["threshold"] << ", " << g["samples"]
           << " samples)\n";
    }
    if (s.contains("live")) {
      out_ << "  evidence: " << s["live"]["samples"] << " of " << s["live"]["min_samples"]
           << " samples from " << s["live"]["instances"]
           << " instance(s); next: " << text(s["live"]["next"]) << "\n";
    }
  }
};

std::function<void()> guarded(std::shared_ptr<RolloutCli> cli, std::ostream& err,
                              std::function<void(RolloutCli&)> action) {
  return [cli, &err, action] {
    try {
      action(*cli);
    } catch (const json::exception& e) {
      err << "error: the answer is not what the admin API sends: " << e.what() << "\n";
      fail();
    }
  };
}

}  // namespace

void add_rollout_command(CLI::App& app) {
  add_rollout_command(app, std::cout, std::cerr);
}

void add_rollout_command(CLI::App& app, std::ostream& out, std::ostream& err) {
  auto cli = std::make_shared<RolloutCli>(out, err);
  auto* rollout = app.add_subcommand("rollout", "Run rollout plans via the admin API");
  rollout->require_subcommand(1);

  auto* start = rollout->add_subcommand("start", "Start the plan in FILE (JSON); needs the token");
  add_connection_options(start, cli->connection);
  start->add_option("FILE", cli->plan_file, "the plan (schemas/rollout-plan.schema.json)")
      ->required();
  start->callback(guarded(cli, err, [](RolloutCli& c) { c.start(); }));

  auto* status = rollout->add_subcommand("status", "Show a flag's plan: state, wave, gates");
  add_connection_options(status, cli->connection);
  status->add_option("FLAG", cli->flag, "flag name")->required();
  status->callback(guarded(cli, err, [](RolloutCli& c) { c.status(); }));

  for (const char* name : {"pause", "resume", "promote", "abort", "retry"}) {
    auto* control =
        rollout->add_subcommand(name, std::string(name) + " the flag's plan; needs the token");
    add_connection_options(control, cli->connection);
    control->add_option("FLAG", cli->flag, "flag name")->required();
    control->callback(guarded(cli, err, [name](RolloutCli& c) { c.control(name); }));
  }
}

}  // namespace patchstream
