// Beast client: connect, write, read, all bounded by one deadline.
#include "admin/admin_client.h"

#include <system_error>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace patchstream::admin {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

}  // namespace

std::optional<AdminEndpoint> parse_admin_address(std::string_view address) {
  if (address.starts_with("http://")) address.remove_prefix(7);
  while (!address.empty() && address.back() == '/')
    address.remove_suffix(1);
  if (address.empty()) return std::nullopt;
  AdminEndpoint endpoint;
  std::string_view port;
  if (address.front() == '[') {
    const auto close = address.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    endpoint.host = std::string(address.substr(1, close - 1));
    std::string_view rest = address.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      port = rest.substr(1);
    }
  } else {
    const auto colon = address.rfind(':');
    endpoint.host = std::string(address.substr(0, colon));
    if (colon != std::string_view::npos) port = address.substr(colon + 1);
    if (colon != std::string_view::npos && port.empty()) return std::nullopt;
  }
  if (endpoint.host.empty()) return std::nullopt;
  if (!port.empty()) {
    if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos ||
        std::stoul(std::string(port)) > 65535) {
      return std::nullopt;
    }
    endpoint.port = std::string(port);
  }
  return endpoint;
}

AdminClient::AdminClient(AdminEndpoint endpoint, std::string token,
                         std::chrono::milliseconds timeout)
    : endpoint_(std::move(endpoint)), token_(std::move(token)), timeout_(timeout) {}

AdminReply AdminClient::request(
    std::string_view method, std::string_view target, std::string_view body,
    const std::vector<std::pair<std::string, std::string>>& headers) const {
  net::io_context io;
  beast::tcp_stream stream(io);
  tcp::resolver resolver(io);
  const auto endpoints = resolver.resolve(endpoint_.host, endpoint_.port);

  http::request<http::string_body> message;
  message.method_string(beast::string_view(method.data(), method.size()));
  message.target(beast::string_view(target.data(), target.size()));
  message.version(11);
  message.set(http::field::host, endpoint_.host + ":" + endpoint_.port);
  message.set(http::field::user_agent, "patchstream-cli");
  message.keep_alive(false);
  if (!token_.empty()) message.set(http::field::authorization, "Bearer " + token_);
  for (const auto& [name, value] : headers)
    message.set(name, value);
  if (!body.empty()) {
    message.set(http::field::content_type, "application/json");
    message.body() = std::string(body);
  }
  message.prepare_payload();

  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  beast::error_code failure;
  bool done = false;
  stream.expires_after(timeout_);
  stream.async_connect(endpoints, [&](beast::error_code ec, const tcp::endpoint&) {
    if (ec) {
      failure = ec;
      return;
    }
    http::async_write(stream, message, [&](beast::error_code ec, std::size_t) {
      if (ec) {
        failure = ec;
        return;
      }
      http::async_read(stream, buffer, response, [&](beast::error_code ec, std::size_t) {
        failure = ec;
        done = !ec;
      });
    });
  });
  io.run();
  if (!done) {
    throw std::system_error(failure ? failure : make_error_code(beast::error::timeout),
                            "admin API at " + endpoint_.host + ":" + endpoint_.port);
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  AdminReply reply;
  reply.status = response.result_int();
  reply.content_type = std::string(response[http::field::content_type]);
  for (const auto& field : response) {
    reply.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  reply.body = std::move(response.body());
  return reply;
}

}  // namespace patchstream::admin
