// A small blocking HTTP/1.1 client for the admin API (the CLI's `flags` commands and tests).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace patchstream::admin {

struct AdminEndpoint {
  std::string host = "127.0.0.1";
  std::string port = "9000";
};

// "host:port", "host" (port 9000), "[::1]:9000", with or without a leading "http://".
std::optional<AdminEndpoint> parse_admin_address(std::string_view address);

struct AdminReply {
  unsigned status = 0;
  std::string content_type;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // as received
};

class AdminClient {
 public:
  explicit AdminClient(AdminEndpoint endpoint, std::string token = {},
                       std::chrono::milliseconds timeout = std::chrono::seconds(5));

  // One request on a fresh connection; sends the bearer token when one is set. Throws
  // std::system_error when the server cannot be reached or does not answer within the timeout.
  AdminReply request(std::string_view method, std::string_view target, std::string_view body = {},
                     const std::vector<std::pair<std::string, std::string>>& headers = {}) const;

  const AdminEndpoint& endpoint() const { return endpoint_; }

 private:
  AdminEndpoint endpoint_;
  std::string token_;
  std::chrono::milliseconds timeout_;
};

}  // namespace patchstream::admin
