// Listener + one session per connection, after Boost.Beast 1.74's example/http/server/async, with
// the parser limits, timeouts and connection cap an admin port on a production host needs.
#include "admin/http_server.h"

#include <atomic>
#include <cctype>
#include <optional>
#include <system_error>
#include <thread>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/version.hpp>

namespace patchstream::admin {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

std::string_view view(beast::string_view text) {
  return {text.data(), text.size()};
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

using Message = http::request<http::string_body>;

// The path and query of a request target: origin-form as sent, absolute-form (which a server must
// accept, RFC 9112 §3.2.2) without its scheme and authority. nullopt for authority-form (CONNECT),
// asterisk-form (OPTIONS *) and anything else: this server is not a proxy.
std::optional<std::string> origin_form(std::string_view target) {
  if (target.starts_with('/')) return std::string(target);
  for (const std::string_view scheme : {"http://", "https://"}) {
    if (target.size() <= scheme.size() || lower(target.substr(0, scheme.size())) != scheme) {
      continue;
    }
    const std::string_view rest = target.substr(scheme.size());
    const auto end = rest.find_first_of("/?");
    if (end == 0) return std::nullopt;  // no host
    if (end == std::string_view::npos) return "/";
    return (rest[end] == '?' ? "/" : "") + std::string(rest.substr(end));
  }
  return std::nullopt;
}

// What makes a parsed request unusable although Beast accepted it (RFC 9112 §3.2, §6.3); empty
// when it is fine.
std::string framing_problem(const Message& message) {
  const auto hosts = message.count(http::field::host);
  if (hosts > 1 || (hosts == 0 && message.version() >= 11)) {
    return "an HTTP/1.1 request needs exactly one Host header";
  }
  // Beast reads a body only when chunked is the last coding; any other coding leaves the length
  // unknown, and guessing it is how requests get smuggled.
  if (message.count(http::field::transfer_encoding) > 0 && !message.chunked()) {
    return "the only supported Transfer-Encoding is chunked";
  }
  return {};
}

// HEAD is answered as GET without the body (RFC 9110 §9.3.2), so routes register GET only.
HttpRequest to_request(const Message& message, std::string_view target) {
  HttpRequest request;
  request.method = message.method() == http::verb::head
                       ? std::string("GET")
                       : std::string(view(message.method_string()));
  const auto question = target.find('?');
  request.path = std::string(target.substr(0, question));
  if (question != std::string_view::npos) request.query = std::string(target.substr(question + 1));
  for (const auto& field : message) {
    request.headers.emplace_back(lower(view(field.name_string())),
                                 std::string(view(field.value())));
  }
  request.body = message.body();
  return request;
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, const Router& router, const AdminServerConfig& config,
          std::atomic<std::size_t>& connections)
      : stream_(std::move(socket)), router_(router), config_(config), connections_(connections) {}
  ~Session() { connections_.fetch_sub(1, std::memory_order_relaxed); }

  void run() {
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&Session::read_request, shared_from_this()));
  }

 private:
  void read_request() {
    parser_.emplace();
    parser_->body_limit(config_.body_limit);
    parser_->header_limit(config_.header_limit);
    stream_.expires_after(config_.read_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec == http::error::end_of_stream) return close();
    if (ec == http::error::body_limit) {
      return send(error_response(413, "body_too_large",
                                 "request bodies are limited to " +
                                     std::to_string(config_.body_limit) + " bytes"),
                  false);
    }
    if (ec == http::error::header_limit && !request_line_ended()) {
      return send(error_response(414, "uri_too_long",
                                 "the request line alone is over the " +
                                     std::to_string(config_.header_limit) + "-byte head limit"),
                  false);
    }
    if (ec == http::error::header_limit) {
      return send(error_response(431, "headers_too_large",
                                 "request heads are limited to " +
                                     std::to_string(config_.header_limit) + " bytes"),
                  false);
    }
    if (ec == beast::error::timeout) return close();  // a slow or idle client: just hang up
    if (ec && ec.category() == make_error_code(http::error::bad_target).category()) {
      return send(error_response(400, "malformed_request", ec.message()), false);
    }
    if (ec) return close();  // reset or similar: nobody to answer

    const auto& message = parser_->get();
    if (const std::string problem = framing_problem(message); !problem.empty()) {
      return send(error_response(400, "malformed_request", problem), false);
    }
    const auto target = origin_form(view(message.target()));
    if (!target) {
      return send(error_response(400, "malformed_request",
                                 "the request target must be a path or an absolute http URI"),
                  false);
    }
    HttpResponse response = router_.dispatch(to_request(message, *target));
    send(std::move(response), message.keep_alive(), message.version(),
         message.method() == http::verb::head);
  }

  // Beast sets the target once it has parsed the request line.
  bool request_line_ended() const { return !parser_->get().target().empty(); }

  void send(HttpResponse response, bool keep_alive, unsigned version = 11, bool head = false) {
    response_ = {};
    response_.version(version);
    response_.result(response.status);
    response_.set(http::field::server, "patchstream");
    response_.set(http::field::content_type, response.content_type);
    response_.set(http::field::cache_control, "no-store");
    for (const auto& [name, value] : response.headers)
      response_.set(name, value);
    response_.keep_alive(keep_alive);
    response_.body() = std::move(response.body);
    response_.prepare_payload();
    if (head) response_.body().clear();  // keeps the Content-Length of the GET answer
    stream_.expires_after(config_.write_timeout);
    http::async_write(
        stream_, response_,
        beast::bind_front_handler(&Session::on_write, shared_from_this(), !keep_alive));
  }

  void on_write(bool close_after, beast::error_code ec, std::size_t) {
    if (ec || close_after) return close();
    read_request();
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;
  const Router& router_;
  const AdminServerConfig& config_;
  std::atomic<std::size_t>& connections_;
};

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(net::io_context& io, tcp::acceptor&& acceptor, const Router& router,
           const AdminServerConfig& config, std::atomic<std::size_t>& connections)
      : io_(io),
        acceptor_(std::move(acceptor)),
        router_(router),
        config_(config),
        connections_(connections),
        busy_response_(busy_response(config.max_connections)) {}

  void run() { accept(); }
  void close() {
    beast::error_code ignored;
    acceptor_.close(ignored);
  }

 private:
  void accept() {
    acceptor_.async_accept(net::make_strand(io_),
                           beast::bind_front_handler(&Listener::on_accept, shared_from_this()));
  }

  void on_accept(beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
    if (!ec) {
      if (connections_.fetch_add(1, std::memory_order_relaxed) >= config_.max_connections) {
        connections_.fetch_sub(1, std::memory_order_relaxed);
        refuse(std::move(socket));
      } else {
        std::make_shared<Session>(std::move(socket), router_, config_, connections_)->run();
      }
    }
    accept();
  }

  // Answers 503 without reading the request, so the client learns why, then hangs up. The answer
  // is small enough for a fresh socket's send buffer: the write never waits on the client.
  void refuse(tcp::socket socket) {
    auto refused = std::make_shared<tcp::socket>(std::move(socket));
    net::async_write(*refused, net::buffer(busy_response_),
                     [refused, self = shared_from_this()](beast::error_code, std::size_t) {
                       beast::error_code ignored;
                       refused->shutdown(tcp::socket::shutdown_send, ignored);
                     });
  }

  static std::string busy_response(std::size_t max_connections) {
    const std::string body =
        error_response(503, "too_many_connections",
                       "this server serves at most " + std::to_string(max_connections) +
                           " connections at once; retry shortly")
            .body;
    return "HTTP/1.1 503 Service Unavailable\r\nServer: patchstream\r\n"
           "Content-Type: application/json\r\nCache-Control: no-store\r\nRetry-After: 1\r\n"
           "Connection: close\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
  }

  net::io_context& io_;
  tcp::acceptor acceptor_;
  const Router& router_;
  const AdminServerConfig& config_;
  std::atomic<std::size_t>& connections_;
  const std::string busy_response_;
};

}  // namespace

// Declaration order matters: the io_context is destroyed first, and the sessions it still holds
// use the config and the connection counter declared before it.
struct AdminServer::Impl {
  Impl(AdminServerConfig c, const Router& r) : config(std::move(c)), router(r) {}

  AdminServerConfig config;
  const Router& router;
  std::atomic<std::size_t> connections{0};
  std::uint16_t port = 0;
  net::io_context io{1};
  std::shared_ptr<Listener> listener;
  std::thread thread;
};

AdminServer::AdminServer(AdminServerConfig config, const Router& router)
    : impl_(std::make_unique<Impl>(std::move(config), router)) {}

AdminServer::~AdminServer() {
  stop();
}

void AdminServer::start() {
  if (impl_->thread.joinable()) return;
  const tcp::endpoint endpoint(net::ip::make_address(impl_->config.address), impl_->config.port);
  tcp::acceptor acceptor(net::make_strand(impl_->io));
  acceptor.open(endpoint.protocol());
  acceptor.set_option(net::socket_base::reuse_address(true));
  acceptor.bind(endpoint);
  acceptor.listen(net::socket_base::max_listen_connections);
  impl_->port = acceptor.local_endpoint().port();
  impl_->listener = std::make_shared<Listener>(impl_->io, std::move(acceptor), impl_->router,
                                               impl_->config, impl_->connections);
  impl_->listener->run();
  impl_->thread = std::thread([impl = impl_.get()] { impl->io.run(); });
}

void AdminServer::stop() {
  if (!impl_->thread.joinable()) return;
  impl_->io.stop();
  impl_->thread.join();
  // The io thread has ended, so touching the acceptor from here races with nothing.
  impl_->listener->close();
  impl_->listener.reset();
}

std::uint16_t AdminServer::port() const {
  return impl_->port;
}

const AdminServerConfig& AdminServer::config() const {
  return impl_->config;
}

}  // namespace patchstream::admin
