// What the admin API's command-line clients (`flags`, `rollout`) share: connection options, one
// request helper that reports refusals, and the exit-code convention.
#pragma once

#include <iosfwd>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json_fwd.hpp>

#include "admin/admin_client.h"

namespace patchstream {

struct ConnectionOptions {
  std::string address = "127.0.0.1:9000";
  std::string token;
  std::string token_file;
  std::string actor;
  bool json = false;
};

// --addr (PATCHSTREAM_ADMIN_ADDR), --token (PATCHSTREAM_ADMIN_TOKEN), --token-file, --actor,
// --json.
void add_connection_options(CLI::App* command, ConnectionOptions& options);

// Thrown after the message is printed; main's CLI::ParseError handler turns it into the exit code.
[[noreturn]] void fail();

class AdminSession {
 public:
  AdminSession(std::ostream& out, std::ostream& err) : out_(out), err_(err) {}

  ConnectionOptions connection;

 protected:
  void print_json(const std::string& body);
  admin::AdminReply request(const std::string& method, const std::string& target,
                            const std::string& body);
  // A request whose answer must be a success; anything else is reported and ends the command.
  admin::AdminReply call(const std::string& method, const std::string& target,
                         const std::string& body = {});
  [[noreturn]] void report(const admin::AdminReply& reply);
  // A JSON value for a table cell: strings bare, arrays comma-joined, null as "-".
  static std::string text(const nlohmann::json& value);

  std::ostream& out_;
  std::ostream& err_;
};

}  // namespace patchstream
