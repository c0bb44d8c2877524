// The flags subcommands: HTTP calls through AdminClient, tables for people, JSON for scripts.
#include "cli/flags_command.h"

#include <algorithm>
#include <fstream>
#include <functional>
#include <iomanip>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include <nlohmann/json.hpp>

#include "admin/admin_client.h"
#include "cli/admin_session.h"

namespace patchstream {
namespace {

using nlohmann::json;

struct SetOptions {
  std::string name;
  std::optional<bool> enabled;
  std::optional<int> percentage;
  std::optional<std::string> group_id;
  std::optional<std::vector<std::string>> allow_users;
  std::optional<std::vector<std::string>> deny_users;
  std::optional<bool> auto_rollback;
  std::optional<std::uint64_t> revision;
  std::string reason;
  std::size_t limit = 0;
};

class FlagsCli : public AdminSession {
 public:
  using AdminSession::AdminSession;

  SetOptions set;

  void list() {
    const auto reply = call("GET", "/admin/flags");
    if (connection.json) return print_json(reply.body);
    print_flag_table(json::parse(reply.body)["flags"]);
  }

  void get() {
    const auto reply = call("GET", "/admin/flags/" + set.name);
    if (connection.json) return print_json(reply.body);
    const json flag = json::parse(reply.body);
    for (const char* key :
         {"name", "enabled", "percentage", "group_id", "allow_users", "deny_users", "auto_rollback",
          "revision", "updated_at", "updated_by", "reason"}) {
      out_ << std::left << std::setw(15) << (std::string(key) + ":") << text(flag[key]) << "\n";
    }
  }

  // Updates the given fields of an existing flag, or creates it; without --revision the current
  // revision is read first, so a change made in between is still refused (409), never overwritten.
  void change() {
    json body = json::object();
    if (set.enabled) body["enabled"] = *set.enabled;
    if (set.percentage) body["percentage"] = *set.percentage;
    if (set.group_id) body["group_id"] = *set.group_id;
    if (set.allow_users) body["allow_users"] = *set.allow_users;
    if (set.deny_users) body["deny_users"] = *set.deny_users;
    if (set.auto_rollback) body["auto_rollback"] = *set.auto_rollback;
    if (!set.reason.empty()) body["reason"] = set.reason;
    std::string method = "POST";
    if (set.revision) {
      body["revision"] = *set.revision;
    } else {
      const auto current = request("GET", "/admin/flags/" + set.name, {});
      if (current.status == 404) {
        method = "PUT";  // create it
      } else if (current.status == 200) {
        body["revision"] = json::parse(current.body)["revision"];
      } else {
        report(current);
      }
    }
    const auto reply = call(method, "/admin/flags/" + set.name, body.dump());
    if (connection.json) return print_json(reply.body);
    const json flag = json::parse(reply.body);
    out_ << (reply.status == 201 ? "created " : "updated ") << flag["name"].get<std::string>()
         << ": revision " << flag["revision"] << ", enabled " << text(flag["enabled"])
         << ", percentage " << flag["percentage"] << "%\n";
  }

  void rollback() {
    json body = json::object();
    if (!set.reason.empty()) body["reason"] = set.reason;
    const auto reply = call("POST", "/admin/flags/" + set.name + "/rollback", body.dump());
    if (connection.json) return print_json(reply.body);
    const json flag = json::parse(reply.body);
    out_ << "rolled back " << flag["name"].get<std::string>() << " to 0%: revision "
         << flag["revision"] << "\n";
  }

  void history() {
    std::string target = "/admin/flags/" + set.name + "/history";
    if (set.limit > 0) target += "?limit=" + std::to_string(set.limit);
    const auto reply = call("GET", target);
    if (connection.json) return print_json(reply.body);
    std::vector<std::vector<std::string>> rows{{"REV", "AT", "BY", "ACTION", "CHANGE", "REASON"}};
    const json answer = json::parse(reply.body);  // named: the loop must not outlive it
    for (const auto& record : answer["history"]) {
      rows.push_back({text(record["revision"]), text(record["at"]), text(record["by"]),
                      text(record["action"]), describe_change(record["before"], record["after"]),
                      text(record["reason"])});
    }
    print_table(rows);
  }

 private:
  static std::string describe_change(const json& before, const json& after) {
    if (before.is_null()) {
      return "created: enabled " + text(after["enabled"]) + ", " + text(after["percentage"]) + "%";
    }
    std::string change;
    for (const char* key :
         {"enabled", "percentage", "group_id", "allow_users", "deny_users", "auto_rollback"}) {
      if (before[key] == after[key]) continue;
      change += (change.empty() ? "" : "; ") + std::string(key) + " " + text(before[key]) + " -> " +
                text(after[key]);
    }
    return change.empty() ? "(no field changed)" : change;
  }

  void print_flag_table(const json& flags) {
    std::vector<std::vector<std::string>> rows{{"NAME", "ENABLED", "PERCENT", "GROUP", "ALLOW",
                                                "DENY", "AUTO_ROLLBACK", "REV", "UPDATED_AT",
                                                "UPDATED_BY"}};
    for (const auto& flag : flags) {
      rows.push_back({text(flag["name"]), text(flag["enabled"]), text(flag["percentage"]) + "%",
                      text(flag["group_id"]), std::to_string(flag["allow_users"].size()),
                      std::to_string(flag["deny_users"].size()), text(flag["auto_rollback"]),
                      text(flag["revision"]), text(flag["updated_at"]), text(flag["updated_by"])});
    }
    print_table(rows);
  }

  void print_table(const std::vector<std::vector<std::string>>& rows) {
    std::vector<std::size_t> widths;
    for (const auto& row : rows) {
      widths.resize(std::max(widths.size(), row.size()));
      for (std::size_t i = 0; i < row.size(); ++i)
        widths[i] = std::max(widths[i], row[i].size());
    }
    for (const auto& row : rows) {
      std::string line;
      for (std::size_t i = 0; i < row.size(); ++i) {
        line += row[i];
        if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
      }
      out_ << line << "\n";
    }
  }
};

// A non-JSON answer from something that is not the admin API ends the command with a message.
std::function<void()> guarded(std::shared_ptr<FlagsCli> cli, std::ostream& err,
                              void (FlagsCli::*action)()) {
  return [cli, &err, action] {
    try {
      ((*cli).*action)();
    } catch (const nlohmann::json::exception& e) {
      err << "error: the answer is not what the admin API sends: " << e.what() << "\n";
      fail();
    }
  };
}

}  // namespace

void add_flags_command(CLI::App& app) {
  add_flags_command(app, std::cout, std::cerr);
}

void add_flags_command(CLI::App& app, std::ostream& out, std::ostream& err) {
  auto cli = std::make_shared<FlagsCli>(out, err);
  auto* flags = app.add_subcommand("flags", "Read and change rollout flags via the admin API");
  flags->require_subcommand(1);

  auto* list = flags->add_subcommand("list", "List every flag");
  add_connection_options(list, cli->connection);
  list->callback(guarded(cli, err, &FlagsCli::list));

  auto* get = flags->add_subcommand("get", "Show one flag");
  add_connection_options(get, cli->connection);
  get->add_option("NAME", cli->set.name, "flag name")->required();
  get->callback(guarded(cli, err, &FlagsCli::get));

  auto* set = flags->add_subcommand(
      "set", "Change the given fields of a flag (created when absent); needs the token");
  add_connection_options(set, cli->connection);
  set->add_option("NAME", cli->set.name, "flag name")->required();
  set->add_option("--enabled", cli->set.enabled, "kill switch: true or false");
  set->add_option("--percentage", cli->set.percentage, "0..100")->check(CLI::Range(0, 100));
  set->add_option("--group-id", cli->set.group_id, "bucketing group (default: the flag name)");
  set->add_option("--allow", cli->set.allow_users, "users always in (comma separated)")
      ->delimiter(',');
  set->add_option("--deny", cli->set.deny_users, "users always out (comma separated)")
      ->delimiter(',');
  set->add_option("--auto-rollback", cli->set.auto_rollback, "roll back on CRITICAL alerts");
  set->add_option("--revision", cli->set.revision,
                  "the revision this change is based on (default: the current one)");
  set->add_option("--reason", cli->set.reason, "why, for the audit trail");
  set->callback(guarded(cli, err, &FlagsCli::change));

  auto* rollback = flags->add_subcommand("rollback", "Set a flag to 0% at once; needs the token");
  add_connection_options(rollback, cli->connection);
  rollback->add_option("NAME", cli->set.name, "flag name")->required();
  rollback->add_option("--reason", cli->set.reason, "why, for the audit trail");
  rollback->callback(guarded(cli, err, &FlagsCli::rollback));

  auto* history = flags->add_subcommand("history", "Show a flag's audit trail, oldest first");
  add_connection_options(history, cli->connection);
  history->add_option("NAME", cli->set.name, "flag name")->required();
  history->add_option("--limit", cli->set.limit, "only the last N changes");
  history->callback(guarded(cli, err, &FlagsCli::history));
}

}  // namespace patchstream
