// The admin API clients' shared plumbing: address and token, one request, refusals reported.
#include "cli/admin_session.h"

#include <fstream>
#include <iostream>
#include <system_error>
#include <vector>

#include <nlohmann/json.hpp>

namespace patchstream {

using nlohmann::json;

void fail() {
  throw CLI::RuntimeError(1);
}

void add_connection_options(CLI::App* command, ConnectionOptions& options) {
  command->add_option("--addr", options.address, "admin API address HOST:PORT")
      ->envname("PATCHSTREAM_ADMIN_ADDR")
      ->capture_default_str();
  command->add_option("--token", options.token, "admin bearer token")
      ->envname("PATCHSTREAM_ADMIN_TOKEN");
  command->add_option("--token-file", options.token_file, "read the admin token from this file");
  command->add_option("--actor", options.actor,
                      "who to record as the author of a change (default: admin-api)");
  command->add_flag("--json", options.json, "print the API's JSON instead of a table");
}

void AdminSession::print_json(const std::string& body) {
  out_ << json::parse(body).dump(2) << "\n";
}

admin::AdminReply AdminSession::request(const std::string& method, const std::string& target,
                                        const std::string& body) {
  const auto endpoint = admin::parse_admin_address(connection.address);
  if (!endpoint) {
    err_ << "error: bad admin address '" << connection.address << "' (want HOST:PORT)\n";
    fail();
  }
  std::string token = connection.token;
  if (!connection.token_file.empty()) {
    std::ifstream in(connection.token_file);
    if (!(in >> token)) {
      err_ << "error: cannot read a token from " << connection.token_file << "\n";
      fail();
    }
  }
  std::vector<std::pair<std::string, std::string>> headers;
  if (!connection.actor.empty()) headers.emplace_back("X-Patchstream-Actor", connection.actor);
  try {
    return admin::AdminClient(*endpoint, token).request(method, target, body, headers);
  } catch (const std::system_error& e) {
    err_ << "error: cannot reach the admin API: " << e.what() << "\n";
    fail();
  }
}

admin::AdminReply AdminSession::call(const std::string& method, const std::string& target,
                                     const std::string& body) {
  auto reply = request(method, target, body);
  if (reply.status >= 300) report(reply);
  return reply;
}

void AdminSession::report(const admin::AdminReply& reply) {
  const json error = json::parse(reply.body, nullptr, false);
  err_ << "error: HTTP " << reply.status;
  if (error.is_object() && error.contains("error")) {
    err_ << " " << text(error["error"]) << ": " << text(error.value("detail", json("")));
  } else {
    err_ << ": " << reply.body;
  }
  err_ << "\n";
  fail();
}

std::string AdminSession::text(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_array()) {
    std::string joined;
    for (const auto& item : value)
      joined += (joined.empty() ? "" : ",") + text(item);
    return joined.empty() ? "-" : joined;
  }
  if (value.is_null()) return "-";
  return value.dump();
}
}  // namespace patchstream
