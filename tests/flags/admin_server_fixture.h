// A real AdminServer with the flag routes over a file store on a free loopback port, for HTTP
// tests.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "admin/admin_client.h"
#include "admin/flag_routes.h"
#include "admin/http_server.h"
#include "flags/file_flag_store.h"
#include "flags/flag_catalog.h"
#include "temp_directory.h"

namespace patchstream::admin::testing {

inline constexpr const char* kToken = "s3cret-token";

inline std::string header_of(const AdminReply& reply, std::string_view name) {
  for (const auto& [key, value] : reply.headers) {
    if (boost::beast::iequals(key, boost::beast::string_view(name.data(), name.size()))) {
      return value;
    }
  }
  return {};
}

// Small limits and a short read timeout, so that limits and timeouts are cheap to reach.
inline AdminServerConfig test_server_config() {
  AdminServerConfig config;
  config.port = 0;
  config.body_limit = 4096;
  config.header_limit = 2048;
  config.read_timeout = std::chrono::milliseconds(500);
  return config;
}

// A server with a file store, as the processor runs it.
class AdminHttp : public ::testing::Test {
 protected:
  explicit AdminHttp(std::optional<std::string> token = kToken)
      : store_({directory_.path(), {}}), catalog_(store_, registry_) {
    add_flag_routes(router_, catalog_, FlagRoutesConfig{std::move(token)});
    restart_server(test_server_config());
  }

  // Replaces the running server by one with `config` (on a new port).
  void restart_server(const AdminServerConfig& config) {
    server_.reset();
    server_ = std::make_unique<AdminServer>(config, router_);
    server_->start();
  }

  AdminClient client(std::string token = kToken) const {
    return AdminClient({"127.0.0.1", std::to_string(server_->port())}, std::move(token));
  }
  AdminReply call(std::string_view method, std::string_view target, std::string_view body = {},
                  std::string token = kToken) const {
    return client(std::move(token)).request(method, target, body);
  }
  static nlohmann::json body(const AdminReply& reply) { return nlohmann::json::parse(reply.body); }

  boost::asio::ip::tcp::endpoint endpoint() const {
    return {boost::asio::ip::make_address("127.0.0.1"), server_->port()};
  }

  // Sends raw bytes on a new connection and reads one response (status 0 when the server closed).
  unsigned raw_status(const std::string& bytes) const {
    namespace http = boost::beast::http;
    boost::asio::io_context io;
    boost::asio::ip::tcp::socket socket(io);
    socket.connect(endpoint());
    boost::asio::write(socket, boost::asio::buffer(bytes));
    boost::beast::flat_buffer buffer;
    http::response<http::string_body> response;
    boost::beast::error_code ec;
    http::read(socket, buffer, response, ec);
    return ec ? 0 : response.result_int();
  }

  void create(const std::string& name, int percentage) {
    const auto reply = call("PUT", "/admin/flags/" + name,
                            nlohmann::json{{"enabled", true}, {"percentage", percentage}}.dump());
    ASSERT_EQ(reply.status, 201u) << reply.body;
  }

  flags::testing::TempDirectory directory_;
  flags::FileFlagStore store_;
  flags::FlagRegistry registry_;
  flags::FlagCatalog catalog_;
  Router router_;
  std::unique_ptr<AdminServer> server_;
};

}  // namespace patchstream::admin::testing
