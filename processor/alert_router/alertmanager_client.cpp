// Beast client: resolve, connect, write, read under one deadline; failures become SendOutcome
// values.
#include "alert_router/alertmanager_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace patchstream::alert_router {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

// Alertmanager's refusal reasons are one short line; enough of any answer to log it.
constexpr std::size_t kDetailBytes = 512;
// Bounds what a misbehaving server can make us buffer.
constexpr std::uint64_t kResponseBodyLimit = 64 * 1024;

}  // namespace

std::optional<AlertmanagerUrl> parse_alertmanager_url(std::string_view url) {
  constexpr std::string_view scheme = "http://";
  if (!url.starts_with(scheme)) return std::nullopt;
  url.remove_prefix(scheme.size());
  AlertmanagerUrl out;
  const auto slash = url.find('/');
  std::string_view authority = url.substr(0, slash);
  if (slash != std::string_view::npos) {
    std::string_view path = url.substr(slash);
    while (!path.empty() && path.back() == '/')
      path.remove_suffix(1);
    if (path.find_first_of("?# ") != std::string_view::npos) return std::nullopt;
    out.path_prefix = std::string(path);
  }
  std::string_view port;
  if (authority.starts_with('[')) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    out.host = std::string(authority.substr(1, close - 1));
    const auto rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      port = rest.substr(1);
      if (port.empty()) return std::nullopt;
    }
  } else {
    const auto colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      if (port.empty()) return std::nullopt;
    }
  }
  if (out.host.empty() || out.host.find('@') != std::string::npos) return std::nullopt;
  if (!port.empty()) {
    if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos ||
        std::stoul(std::string(port)) > 65535 || std::stoul(std::string(port)) == 0)
      return std::nullopt;
    out.port = std::string(port);
  }
  return out;
}

AlertmanagerClient::AlertmanagerClient(std::string url, std::chrono::milliseconds timeout)
    : name_(std::move(url)),
      url_(parse_alertmanager_url(name_).value()),
      target_(url_.path_prefix + "/api/v2/alerts"),
      timeout_(timeout) {}

SendOutcome AlertmanagerClient::post_alerts(std::string_view body) {
  net::io_context io;
  beast::tcp_stream stream(io);
  tcp::resolver resolver(io);
  const auto deadline = std::chrono::steady_clock::now() + timeout_;

  http::request<http::string_body> request{http::verb::post, target_, 11};
  request.set(http::field::host, url_.host + ":" + url_.port);
  request.set(http::field::user_agent, "patchstream-alert-router");
  request.set(http::field::content_type, "application/json");
  request.keep_alive(false);
  request.body() = std::string(body);
  request.prepare_payload();

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kResponseBodyLimit);
  beast::error_code failure;
  bool answered = false;
  // The resolver has no deadline of its own on a name lookup; the deadline below covers the rest.
  resolver.async_resolve(
      url_.host, url_.port, [&](beast::error_code ec, tcp::resolver::results_type endpoints) {
        if (ec) {
          failure = ec;
          return;
        }
        stream.expires_at(deadline);
        stream.async_connect(endpoints, [&](beast::error_code ec, const tcp::endpoint&) {
          if (ec) {
            failure = ec;
            return;
          }
          http::async_write(stream, request, [&](beast::error_code ec, std::size_t) {
            if (ec) {
              failure = ec;
              return;
            }
            http::async_read(stream, buffer, parser, [&](beast::error_code ec, std::size_t) {
              failure = ec;
              answered = !ec;
            });
          });
        });
      });
  io.run_until(deadline);
  if (!answered && !failure) failure = beast::error::timeout;
  if (!answered) return {SendStatus::unavailable, 0, failure.message()};
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  const auto& response = parser.get();
  const unsigned status = response.result_int();
  std::string detail = response.body().substr(0, kDetailBytes);
  return {classify_http_status(status), status, std::move(detail)};
}

}  // namespace patchstream::alert_router
