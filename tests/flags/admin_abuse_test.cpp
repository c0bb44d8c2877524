// Hostile and broken clients against the real admin server over raw sockets: malformed HTTP, odd
// paths and methods, bad tokens, slow, silent and vanishing clients, pipelining. Each is refused
// with the right status, the server keeps serving, and no flag changes without the token.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <optional>
#include <thread>
#include <vector>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "admin_server_fixture.h"
#include "flags/flag_json.h"

namespace patchstream::admin {
namespace {

namespace http = boost::beast::http;
using namespace patchstream::admin::testing;
using namespace std::chrono_literals;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

struct RawResponse {
  unsigned status = 0;
  std::string body;
  std::string allow;
  std::string retry_after;
  std::string content_length;
  bool keep_alive = false;

  std::string error() const { return body.empty() ? "" : json::parse(body).value("error", ""); }
};

enum class Ending { closed, open };

// A plain POSIX client whose every receive gives up after a deadline, so that a server that hangs
// fails the test instead of hanging it (Asio's blocking reads ignore SO_RCVTIMEO).
class RawConnection {
 public:
  explicit RawConnection(std::uint16_t port, std::chrono::milliseconds receive_timeout = 5s)
      : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "socket");
    timeval timeout{};
    timeout.tv_sec = receive_timeout.count() / 1000;
    timeout.tv_usec = (receive_timeout.count() % 1000) * 1000;
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      const int error = errno;
      ::close(fd_);
      throw std::system_error(error, std::generic_category(), "connect");
    }
  }
  ~RawConnection() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  // False once the server has hung up (it may do so before a refused request is fully sent).
  bool send(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t sent = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (sent <= 0) return false;
      bytes.remove_prefix(static_cast<std::size_t>(sent));
    }
    return true;
  }

  // One response; nullopt when the connection ends (or the receive times out) before a whole one.
  std::optional<RawResponse> read_response(bool head = false) {
    http::response_parser<http::string_body> parser;
    parser.eager(true);
    parser.skip(head);
    parser.body_limit(boost::none);
    for (;;) {
      if (!pending_.empty()) {
        boost::beast::error_code ec;
        const std::size_t used = parser.put(boost::asio::buffer(pending_), ec);
        pending_.erase(0, used);
        if (ec && ec != http::error::need_more) return std::nullopt;
        if (parser.is_done()) break;
        if (used > 0 && !ec) continue;
      }
      if (!receive()) return std::nullopt;
    }
    const auto& message = parser.get();
    auto field = [&](http::field name) { return std::string(message[name]); };
    return RawResponse{message.result_int(),
                       message.body(),
                       field(http::field::allow),
                       field(http::field::retry_after),
                       field(http::field::content_length),
                       message.keep_alive()};
  }

  // Reads and discards until the server hangs up (closed) or `within` passes (open).
  Ending wait_for_close(std::chrono::milliseconds within) {
    const auto deadline = Clock::now() + within;
    pending_.clear();
    while (Clock::now() < deadline) {
      if (!receive()) return eof_ ? Ending::closed : Ending::open;
      received_after_wait_ += pending_.size();
      pending_.clear();
    }
    return Ending::open;
  }

  // Whether the server has hung up, without waiting.
  bool closed_by_server() {
    char byte;
    const ssize_t got = ::recv(fd_, &byte, 1, MSG_DONTWAIT);
    return got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
  }

  // Closes with a reset instead of a FIN: the rudest way to leave.
  void reset() {
    const linger hard{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    ::close(fd_);
    fd_ = -1;
  }

  std::size_t received_after_wait() const { return received_after_wait_; }

 private:
  // Appends what arrives to pending_; false on end of stream, reset or timeout.
  bool receive() {
    char chunk[16 * 1024];
    const ssize_t got = ::recv(fd_, chunk, sizeof chunk, 0);
    if (got > 0) {
      pending_.append(chunk, static_cast<std::size_t>(got));
      return true;
    }
    eof_ = got == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
    return false;
  }

  int fd_;
  std::string pending_;
  bool eof_ = false;
  std::size_t received_after_wait_ = 0;
};

constexpr const char* kHead = " HTTP/1.1\r\nHost: admin\r\n";

// A request on its own connection: the answer, and whether the server then hung up.
struct Exchange {
  std::optional<RawResponse> response;
  Ending ending = Ending::open;
};

// The flag catalog as the tests see it: every definition and every audit record.
class AdminAbuse : public AdminHttp {
 protected:
  void SetUp() override {
    flags::FlagDefinition f;
    f.name = "f";
    f.enabled = true;
    f.percentage = 10;
    // Answers about "big" are larger than a socket's buffers when many are pipelined.
    flags::FlagDefinition big;
    big.name = "big";
    for (int i = 0; i < 8000; ++i)
      big.allow_users.push_back("user-" + std::to_string(1'000'000 + i));
    catalog_.declare({f, big});
    before_ = catalog_state();
  }

  // No abuse changes a flag: checked through the catalog and the store, not through HTTP.
  void TearDown() override {
    EXPECT_EQ(catalog_state(), before_);
    EXPECT_EQ(catalog_.get("f")->revision, 1u);
    flags::FileFlagStore reopened({directory_.path(), {}});
    flags::FlagRegistry registry;
    flags::FlagCatalog reloaded(reopened, registry);
    EXPECT_EQ(reloaded.list(), catalog_.list());
  }

  json catalog_state() const {
    json state = json::object();
    for (const auto& flag : catalog_.list()) {
      json history = json::array();
      const auto records = catalog_.history(flag.name);
      for (const auto& record : *records)
        history.push_back(flags::to_json(record));
      state[flag.name] = {{"flag", flags::to_json(flag)}, {"history", history}};
    }
    return state;
  }

  // Whether the connection is still usable afterwards is seen by using it (a keep-alive answer)
  // or by waiting for the server to hang up.
  Exchange exchange(std::string_view bytes, bool head = false) const {
    RawConnection connection(server_->port());
    connection.send(bytes);  // may fail half-way: the server can refuse before the end
    Exchange result;
    result.response = connection.read_response(head);
    if (result.response && result.response->keep_alive) {
      connection.send(std::string("GET /admin/flags/f") + kHead + "\r\n");
      const auto next = connection.read_response();
      result.ending = next && next->status == 200 ? Ending::open : Ending::closed;
    } else {
      result.ending = connection.wait_for_close(3s);
    }
    return result;
  }

  void expect_still_serving() const {
    const auto reply = call("GET", "/admin/flags/f");
    EXPECT_EQ(reply.status, 200u);
  }

  json before_;
};

// ---------------------------------------------------------------------------------------------
// Malformed HTTP

struct MalformedCase {
  const char* what;
  std::string bytes;
  unsigned status;  // 0: closed without an answer
  const char* error;
};

bool accepted(const MalformedCase& test) {
  return test.status == 200;
}

std::string chunked_post(std::string_view chunks) {
  return std::string("POST /admin/flags/f") + kHead +
         "Authorization: Bearer s3cret-token\r\nTransfer-Encoding: chunked\r\n\r\n" +
         std::string(chunks);
}

std::string chunks_of(std::size_t total, std::size_t size) {
  std::string out;
  const std::string chunk(size, 'x');
  char length[32];
  std::snprintf(length, sizeof length, "%zx\r\n", size);
  for (std::size_t sent = 0; sent < total; sent += size)
    out += length + chunk + "\r\n";
  return out + "0\r\n\r\n";
}

TEST_F(AdminAbuse, MalformedRequestsAreRefusedAndTheServerKeepsServing) {
  const std::string get = std::string("GET /admin/flags/f") + kHead;
  const std::string put_f = std::string("PUT /admin/flags/f") + kHead;
  const std::vector<MalformedCase> cases = {
      {"garbage start line", "GARBAGE\r\n\r\n", 400, "malformed_request"},
      {"binary start line (a TLS hello)", std::string("\x16\x03\x01\x00\xa5\x01\x00\x00", 8), 400,
       "malformed_request"},
      {"no HTTP version", "GET /admin/flags\r\n\r\n", 400, "malformed_request"},
      {"HTTP/2.0 text", "GET /admin/flags HTTP/2.0\r\nHost: admin\r\n\r\n", 400,
       "malformed_request"},
      {"HTTP/1.2", "GET /admin/flags HTTP/1.2\r\nHost: admin\r\n\r\n", 400, "malformed_request"},
      {"lower-case version", "GET /admin/flags http/1.1\r\nHost: admin\r\n\r\n", 400,
       "malformed_request"},
      {"two spaces in the request line", "GET  /admin/flags HTTP/1.1\r\nHost: admin\r\n\r\n", 400,
       "malformed_request"},
      {"bare LF line ends", "GET /admin/flags HTTP/1.1\nHost: admin\n\n", 400, "malformed_request"},
      {"head never ends (no empty line)", "GET /admin/flags HTTP/1.1\r\nHost: admin\r\n", 0, ""},
      {"header without colon", get + "X-Broken header\r\n\r\n", 400, "malformed_request"},
      {"space before the colon", get + "X-Broken : value\r\n\r\n", 400, "malformed_request"},
      {"empty header name", get + ": value\r\n\r\n", 400, "malformed_request"},
      // RFC 9112 §5.2 allows replacing obs-fold by a space instead of refusing it: Beast does.
      {"obsolete line folding", get + "X-Folded: a\r\n b\r\n\r\n", 200, ""},
      {"NUL in a header value", get + std::string("X-Nul: a\0b\r\n\r\n", 14), 400,
       "malformed_request"},
      {"NUL in a header name", get + std::string("X-N\0l: a\r\n\r\n", 12), 400,
       "malformed_request"},
      {"NUL in the target", std::string("GET /admin/fl\0gs HTTP/1.1\r\nHost: admin\r\n\r\n", 42),
       400, "malformed_request"},
      {"no Host", "GET /admin/flags/f HTTP/1.1\r\n\r\n", 400, "malformed_request"},
      {"two Hosts", get + "Host: other\r\n\r\n", 400, "malformed_request"},
      {"chunk size not hex", chunked_post("zz\r\nhello\r\n0\r\n\r\n"), 400, "malformed_request"},
      {"chunk longer than its size", chunked_post("2\r\nhello\r\n0\r\n\r\n"), 400,
       "malformed_request"},
      {"chunk size overflows", chunked_post("fffffffffffffffffffff\r\nx\r\n0\r\n\r\n"), 400,
       "malformed_request"},
      {"chunked twice",
       put_f + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400,
       "malformed_request"},
      {"Transfer-Encoding not ending in chunked",
       put_f + "Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", 400, "malformed_request"},
      {"Transfer-Encoding without chunked", put_f + "Transfer-Encoding: gzip\r\n\r\n", 400,
       "malformed_request"},
      {"Content-Length then Transfer-Encoding",
       put_f + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400,
       "malformed_request"},
      {"Transfer-Encoding then Content-Length",
       put_f + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", 400,
       "malformed_request"},
      {"two different Content-Lengths", put_f + "Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
       400, "malformed_request"},
      {"a list of different Content-Lengths", put_f + "Content-Length: 2, 3\r\n\r\n{}", 400,
       "malformed_request"},
      {"negative Content-Length", put_f + "Content-Length: -1\r\n\r\n", 400, "malformed_request"},
      {"Content-Length beyond 64 bits", put_f + "Content-Length: 99999999999999999999999\r\n\r\n",
       400, "malformed_request"},
      {"Content-Length not a number", put_f + "Content-Length: 0x10\r\n\r\n", 400,
       "malformed_request"},
      {"huge declared Content-Length", put_f + "Content-Length: 1000000000000\r\n\r\n", 413,
       "body_too_large"},
      {"request line of 100 KB",
       "GET /admin/flags/" + std::string(100 * 1024, 'a') + kHead + "\r\n", 414, "uri_too_long"},
      {"header of 100 KB", get + "X-Big: " + std::string(100 * 1024, 'b') + "\r\n\r\n", 431,
       "headers_too_large"},
      {"many small headers",
       [&] {
         std::string many = get;
         for (int i = 0; i < 1000; ++i)
           many += "X-" + std::to_string(i) + ": v\r\n";
         return many + "\r\n";
       }(),
       431, "headers_too_large"},
      {"body over the limit, declared",
       put_f + "Authorization: Bearer s3cret-token\r\nContent-Length: 100000\r\n\r\n" +
           std::string(100'000, ' '),
       413, "body_too_large"},
      {"body over the limit, streamed chunked", chunked_post(chunks_of(100'000, 1000)), 413,
       "body_too_large"},
      {"body shorter than declared, then silence", put_f + "Content-Length: 10\r\n\r\n{}", 0, ""},
  };
  for (const auto& test : cases) {
    SCOPED_TRACE(test.what);
    const Exchange result = exchange(test.bytes);
    if (test.status == 0) {
      EXPECT_FALSE(result.response) << result.response->status;
    } else {
      ASSERT_TRUE(result.response);
      EXPECT_EQ(result.response->status, test.status) << result.response->body;
      EXPECT_EQ(result.response->error(), test.error);
      EXPECT_EQ(result.response->keep_alive, accepted(test));
    }
    // After a framing error nothing more can be read reliably.
    EXPECT_EQ(result.ending, accepted(test) ? Ending::open : Ending::closed);
    expect_still_serving();
  }
}

// ---------------------------------------------------------------------------------------------
// Odd paths and methods

struct OddCase {
  std::string method;
  std::string target;
  unsigned status;
  const char* allow;  // the Allow header a 405 must carry
};

TEST_F(AdminAbuse, OddPathsAndMethodsGetTheRightStatus) {
  const std::vector<OddCase> cases = {
      // The path is matched as sent: no dot-segment removal, no percent-decoding; a flag name
      // is 1..128 of [A-Za-z0-9._-] starting with a letter or digit.
      {"GET", "/admin/flags/../flags", 400, ""},
      {"GET", "/admin/flags/..", 400, ""},
      {"GET", "/admin/flags/./f", 400, ""},
      {"GET", "/admin/flags/%2e%2e/flags", 400, ""},
      {"GET", "/admin/../admin/flags", 404, ""},
      {"GET", "/admin/flags/%66", 400, ""},
      {"GET", "/admin/flags/f%2Fhistory", 400, ""},
      {"GET", "/admin/flags/f%00", 400, ""},
      {"GET", "/admin/flags/f%", 400, ""},
      {"GET", "/admin/flags/" + std::string(128, 'n'), 404, ""},
      {"GET", "/admin/flags/" + std::string(129, 'n'), 400, ""},
      {"GET", "/admin/flags/" + std::string(1900, 'n'), 400, ""},
      {"PUT", "/admin/flags/" + std::string(129, 'n'), 400, ""},  // the name before the token
      {"GET", "//admin/flags", 404, ""},
      {"GET", "/admin//flags", 404, ""},
      {"GET", "/admin/flags/", 404, ""},
      {"GET", "/admin/flags//", 404, ""},
      {"GET", "/admin/flags//history", 404, ""},
      {"GET", "/admin/flags/f/", 404, ""},
      {"GET", "/admin/flags/f//history", 404, ""},
      {"GET", "/admin/flags/f/history/", 404, ""},
      {"GET", "/ADMIN/FLAGS", 404, ""},
      {"GET", "/admin/flags?x=1&&=&y", 200, ""},
      {"GET", "/admin/flags/f?", 200, ""},
      {"GET", "/admin/flags/f?a=%00&b=" + std::string(1000, 'q'), 200, ""},
      {"GET", "/admin/flags/f/history?limit=1&limit=x", 200, ""},
      {"GET", "/admin/flags/f/history?limit=99999999999999999999999", 400, ""},
      {"GET", "/admin/flags/f/history?limit=-1", 400, ""},
      {"GET", "/admin/flags/f/history?limit=0", 400, ""},
      // Absolute-form targets must be accepted (RFC 9112 §3.2.2); only the path routes.
      {"GET", "http://127.0.0.1/admin/flags", 200, ""},
      {"GET", "HTTP://elsewhere.example:81/admin/flags/f?x=1", 200, ""},
      {"GET", "http://elsewhere.example", 404, ""},
      {"GET", "http://elsewhere.example?x", 404, ""},
      {"PUT", "http://s3cret-token@admin/admin/flags/f", 401, ""},
      {"GET", "ftp://admin/admin/flags", 400, ""},
      // Authority-form belongs to CONNECT and asterisk-form to OPTIONS: this is not a proxy.
      {"GET", "admin/flags", 400, ""},
      {"GET", "127.0.0.1:9000", 400, ""},
      {"CONNECT", "127.0.0.1:9000", 400, ""},
      {"CONNECT", "/admin/flags", 405, "GET, POST"},
      {"OPTIONS", "*", 400, ""},
      {"OPTIONS", "/admin/flags", 405, "GET, POST"},
      {"OPTIONS", "/admin/flags/f", 405, "GET, PUT, POST"},
      {"TRACE", "/admin/flags", 405, "GET, POST"},
      {"TRACE", "/admin/flags/f", 405, "GET, PUT, POST"},
      {"TRACE", "/nowhere", 404, ""},
      {"DELETE", "/admin/flags/f", 405, "GET, PUT, POST"},
      {"PATCH", "/admin/flags/f", 405, "GET, PUT, POST"},
      {"DELETE", "/admin/flags", 405, "GET, POST"},
      {"BREW", "/admin/flags", 405, "GET, POST"},
      {"get", "/admin/flags", 405, "GET, POST"},  // methods are case-sensitive
      {std::string(1000, 'M'), "/admin/flags/f", 405, "GET, PUT, POST"},
      {"POST", "/admin/flags/f/history", 405, "GET"},
      {"GET", "/admin/flags/f/rollback", 405, "POST"},
      // HEAD is GET without the body (RFC 9110 §9.3.2: a server must support it).
      {"HEAD", "/admin/flags", 200, ""},
      {"HEAD", "/admin/flags/f", 200, ""},
      {"HEAD", "/admin/flags/f/history", 200, ""},
      {"HEAD", "/admin/flags/nope", 404, ""},
      {"HEAD", "/nowhere", 404, ""},
      {"HEAD", "/admin/flags/f/rollback", 405, "POST"},
  };
  auto keep_alive = std::make_unique<RawConnection>(server_->port());  // all on one connection too
  for (const auto& test : cases) {
    SCOPED_TRACE(test.method + " " + test.target.substr(0, 80));
    const bool head = test.method == "HEAD";
    const std::string request = test.method + " " + test.target + kHead + "\r\n";
    const Exchange result = exchange(request, head);
    ASSERT_TRUE(result.response);
    EXPECT_EQ(result.response->status, test.status) << result.response->body;
    EXPECT_EQ(result.response->allow, test.allow);
    if (head) {
      EXPECT_EQ(result.response->body, "");
      const auto get = exchange("GET" + request.substr(4));
      EXPECT_EQ(result.response->content_length, std::to_string(get.response->body.size()));
    } else if (test.status != 200) {
      EXPECT_FALSE(result.response->error().empty());
    }
    // A routing answer leaves the connection usable, unless the request itself was unusable.
    EXPECT_EQ(result.ending, test.status == 400 && result.response->error() == "malformed_request"
                                 ? Ending::closed
                                 : Ending::open);
    ASSERT_TRUE(keep_alive->send(request));
    const auto again = keep_alive->read_response(head);
    ASSERT_TRUE(again);
    EXPECT_EQ(again->status, test.status);
    if (!again->keep_alive) keep_alive = std::make_unique<RawConnection>(server_->port());
  }
  expect_still_serving();
}

// ---------------------------------------------------------------------------------------------
// Tokens

struct TokenCase {
  const char* what;
  std::vector<std::string> authorization;  // header values, in order
  std::string target;
  unsigned status;  // 400 invalid_field: the token passed and the body was then refused
  const char* error;
};

TEST_F(AdminAbuse, OnlyTheExactBearerTokenInTheHeaderIsAccepted) {
  const std::string token = kToken;
  const std::string flag = "/admin/flags/f";
  const std::vector<TokenCase> cases = {
      {"no header", {}, flag, 401, "missing_token"},
      {"empty header", {""}, flag, 401, "missing_token"},
      {"scheme only", {"Bearer"}, flag, 401, "missing_token"},
      {"scheme and space", {"Bearer "}, flag, 401, "missing_token"},
      {"Basic scheme", {"Basic czNjcmV0LXRva2VuOg=="}, flag, 401, "missing_token"},
      {"Token scheme", {"Token " + token}, flag, 401, "missing_token"},
      {"no scheme", {token}, flag, 401, "missing_token"},
      {"tab after the scheme", {"Bearer\t" + token}, flag, 401, "missing_token"},
      {"wrong token", {"Bearer wrong"}, flag, 403, "wrong_token"},
      {"one character off", {"Bearer s3cret-tokeN"}, flag, 403, "wrong_token"},
      {"a prefix", {"Bearer " + token.substr(0, token.size() - 1)}, flag, 403, "wrong_token"},
      {"an extension", {"Bearer " + token + "x"}, flag, 403, "wrong_token"},
      {"repeated", {"Bearer " + token + token}, flag, 403, "wrong_token"},
      {"a second word", {"Bearer " + token + " x"}, flag, 403, "wrong_token"},
      {"quoted", {"Bearer \"" + token + "\""}, flag, 403, "wrong_token"},
      {"very long", {"Bearer " + std::string(1800, 't')}, flag, 403, "wrong_token"},
      {"longer than the head limit",
       {"Bearer " + std::string(100 * 1024, 't')},
       flag,
       431,
       "headers_too_large"},
      {"control character", {"Bearer " + token + "\x0b"}, flag, 400, "malformed_request"},
      {"two headers, wrong first",
       {"Bearer wrong", "Bearer " + token},
       flag,
       400,
       "malformed_request"},
      {"two headers, right first",
       {"Bearer " + token, "Bearer wrong"},
       flag,
       400,
       "malformed_request"},
      {"token in the query", {}, flag + "?access_token=" + token, 401, "missing_token"},
      {"token in the query, wrong header",
       {"Bearer wrong"},
       flag + "?access_token=" + token,
       403,
       "wrong_token"},
      {"header in the query", {}, flag + "?Authorization=Bearer%20" + token, 401, "missing_token"},
      // Accepted: the scheme is case-insensitive (RFC 9110 §11.1), 1*SP may follow it (RFC 6750),
      // and whitespace around a field value is not part of it (RFC 9110 §5.5).
      {"lower-case scheme", {"bearer " + token}, flag, 400, "invalid_field"},
      {"upper-case scheme", {"BEARER " + token}, flag, 400, "invalid_field"},
      {"two spaces", {"Bearer  " + token}, flag, 400, "invalid_field"},
      {"trailing spaces", {"Bearer " + token + "   "}, flag, 400, "invalid_field"},
      {"trailing tab", {"Bearer " + token + "\t"}, flag, 400, "invalid_field"},
  };
  const std::string body = R"({"percentage":101,"revision":1})";
  for (const auto& test : cases) {
    for (const char* method : {"PUT", "POST"}) {
      SCOPED_TRACE(std::string(test.what) + " " + method);
      std::string request = std::string(method) + " " + test.target + kHead;
      for (const auto& value : test.authorization)
        request += "Authorization: " + value + "\r\n";
      request += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
      const Exchange result = exchange(request);
      ASSERT_TRUE(result.response);
      EXPECT_EQ(result.response->status, test.status) << result.response->body;
      EXPECT_EQ(result.response->error(), test.error);
    }
  }
  // Every change route refuses the same way.
  const std::pair<std::string, std::string> routes[] = {
      {"/admin/flags", R"({"name":"f","percentage":0})"},
      {"/admin/flags/f/rollback", ""},
      {"/admin/flags/new", R"({"percentage":0})"}};
  for (const auto& [target, payload] : routes) {
    SCOPED_TRACE(target);
    EXPECT_EQ(call("POST", target, payload, "").status, 401u);
    EXPECT_EQ(call("POST", target, payload, "wrong").status, 403u);
    EXPECT_EQ(call("POST", target + "?token=" + token, payload, "").status, 401u);
  }
}

// ---------------------------------------------------------------------------------------------
// Slow, silent and vanishing clients

TEST_F(AdminAbuse, SlowlorisConnectionsDoNotStarveOtherClients) {
  auto config = test_server_config();
  config.read_timeout = 3s;
  restart_server(config);

  constexpr int kSlow = 20;
  std::vector<std::unique_ptr<RawConnection>> slow;
  for (int i = 0; i < kSlow; ++i)
    slow.push_back(std::make_unique<RawConnection>(server_->port()));
  const auto opened = Clock::now();
  std::vector<std::optional<Clock::duration>> closed_after(kSlow);
  std::atomic<int> closed{0};
  std::atomic<bool> stop{false};
  std::thread trickle([&] {
    // One byte of a head that never ends, every 100 ms, on every connection.
    const std::string head = "GET /admin/flags HTTP/1.1\r\nHost: admin\r\nX-Slow: ";
    for (std::size_t tick = 0; !stop && closed < kSlow; ++tick) {
      for (int i = 0; i < kSlow; ++i) {
        if (closed_after[i]) continue;
        if (slow[i]->closed_by_server()) {
          closed_after[i] = Clock::now() - opened;
          ++closed;
          continue;
        }
        slow[i]->send(std::string(1, tick < head.size() ? head[tick] : 'z'));
      }
      std::this_thread::sleep_for(100ms);
    }
  });

  // While all of them are held open, a well-behaved client is served, on new connections and on
  // a keep-alive one.
  RawConnection good(server_->port());
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(call("GET", "/admin/flags/f").status, 200u);
    ASSERT_TRUE(good.send(std::string("GET /admin/flags/f") + kHead + "\r\n"));
    const auto reply = good.read_response();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 200u);
  }
  EXPECT_EQ(closed.load(), 0) << "slow connections were closed before the good client was done";

  const auto deadline = Clock::now() + config.read_timeout + 10s;
  while (closed < kSlow && Clock::now() < deadline)
    std::this_thread::sleep_for(50ms);
  stop = true;
  trickle.join();
  for (int i = 0; i < kSlow; ++i) {
    SCOPED_TRACE(i);
    ASSERT_TRUE(closed_after[i]) << "a slow connection was never closed by the server";
    // Bytes kept arriving, yet the whole request had to arrive within the read timeout.
    EXPECT_GE(*closed_after[i], config.read_timeout - 200ms);
  }
  expect_still_serving();
}

TEST_F(AdminAbuse, ClientThatNeverReadsIsDroppedAfterTheWriteTimeout) {
  auto config = test_server_config();
  config.write_timeout = 500ms;
  restart_server(config);
  const std::size_t answer_size = call("GET", "/admin/flags/big").body.size();
  ASSERT_GT(answer_size, 100'000u);

  // Far more answers than loopback socket buffers hold, requested at once and never read.
  constexpr int kRequests = 400;
  RawConnection silent(server_->port());
  std::string pipeline;
  for (int i = 0; i < kRequests; ++i)
    pipeline += std::string("GET /admin/flags/big") + kHead + "\r\n";
  ASSERT_TRUE(silent.send(pipeline));

  for (int i = 0; i < 10; ++i)
    EXPECT_EQ(call("GET", "/admin/flags/f").status, 200u);
  std::this_thread::sleep_for(config.write_timeout * 4);

  // The server gave up on the stuck write: what is left in the buffers, then the end.
  EXPECT_EQ(silent.wait_for_close(10s), Ending::closed);
  EXPECT_LT(silent.received_after_wait(), kRequests * answer_size);
  expect_still_serving();
}

TEST_F(AdminAbuse, ConnectionsAbandonedMidRequestAreReleased) {
  auto config = test_server_config();
  config.max_connections = 16;
  restart_server(config);
  const std::string payload = R"({"enabled":true,"percentage":100,"revision":1})";
  const std::string request =
      std::string("PUT /admin/flags/f") + kHead +
      "Authorization: Bearer s3cret-token\r\nContent-Length: " + std::to_string(payload.size()) +
      "\r\n\r\n" + payload;
  constexpr int kAbandoned = 500;
  for (int i = 0; i < kAbandoned; ++i) {
    RawConnection connection(server_->port());
    // Every cut short of the whole request: nothing, inside the head, inside the body.
    connection.send(std::string_view(request).substr(0, (i * 7) % request.size()));
    if (i % 2 == 0) connection.reset();  // else the destructor closes with a FIN
  }
  // No session outlives its client: all 16 connection slots come back.
  std::vector<std::unique_ptr<RawConnection>> full;
  const auto deadline = Clock::now() + 10s;
  while (full.size() < config.max_connections && Clock::now() < deadline) {
    auto connection = std::make_unique<RawConnection>(server_->port());
    connection->send(std::string("GET /admin/flags/f") + kHead + "\r\n");
    const auto reply = connection->read_response();
    if (reply && reply->status == 200) {
      full.push_back(std::move(connection));
    } else {
      std::this_thread::sleep_for(50ms);
    }
  }
  EXPECT_EQ(full.size(), config.max_connections);
}

TEST_F(AdminAbuse, ConnectionsOverTheCapAre503) {
  auto config = test_server_config();
  config.max_connections = 4;
  config.read_timeout = 5s;
  restart_server(config);
  const std::string get = std::string("GET /admin/flags/f") + kHead + "\r\n";
  std::vector<std::unique_ptr<RawConnection>> held;
  for (std::size_t i = 0; i < config.max_connections; ++i) {
    held.push_back(std::make_unique<RawConnection>(server_->port()));
    ASSERT_TRUE(held.back()->send(get));
    ASSERT_EQ(held.back()->read_response()->status, 200u);
  }
  for (int i = 0; i < 3; ++i) {
    const Exchange refused = exchange(get);
    ASSERT_TRUE(refused.response);
    EXPECT_EQ(refused.response->status, 503u);
    EXPECT_EQ(refused.response->error(), "too_many_connections");
    EXPECT_EQ(refused.response->retry_after, "1");
    EXPECT_EQ(refused.ending, Ending::closed);
  }
  // A freed slot is usable again.
  held.pop_back();
  const auto deadline = Clock::now() + 5s;
  unsigned status = 0;
  while (status != 200 && Clock::now() < deadline) {
    status = exchange(get).response.value_or(RawResponse{}).status;
    if (status != 200) std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(status, 200u);
}

// ---------------------------------------------------------------------------------------------
// Pipelining

TEST_F(AdminAbuse, PipelinedRequestsAreAnsweredInOrder) {
  const std::string body = R"({"percentage":101,"revision":1})";
  const std::string with_body =
      "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  const std::pair<std::string, unsigned> requests[] = {
      {std::string("GET /admin/flags/f") + kHead + "\r\n", 200},
      {std::string("GET /admin/flags/nope") + kHead + "\r\n", 404},
      {std::string("POST /admin/flags/f") + kHead + with_body, 401},
      {std::string("HEAD /admin/flags/big") + kHead + "\r\n", 200},
      {std::string("PUT /admin/flags/f") + kHead + "Authorization: Bearer x\r\n" + with_body, 403},
      {std::string("POST /admin/flags/f") + kHead + "Authorization: Bearer s3cret-token\r\n" +
           with_body,
       400},
      {std::string("DELETE /admin/flags/f") + kHead + "\r\n", 405},
      {std::string("POST /admin/flags/f") + kHead +
           "Authorization: Bearer s3cret-token\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n" +
           body.substr(0, 5) + "\r\n1a\r\n" + body.substr(5) + "\r\n0\r\n\r\n",
       400},
      {std::string("GET /admin/flags/f/history") + kHead + "\r\n", 200},
  };
  std::string pipeline;
  for (const auto& [request, status] : requests)
    pipeline += request;
  pipeline += std::string("GET /admin/flags/f") + kHead + "Connection: close\r\n\r\n";
  pipeline += std::string("GET /admin/flags/f") + kHead + "\r\n";  // after close: not answered

  // All at once, and then again one byte per send.
  for (const std::size_t piece : {pipeline.size(), std::size_t{1}}) {
    SCOPED_TRACE(piece);
    RawConnection connection(server_->port());
    for (std::size_t at = 0; at < pipeline.size(); at += piece)
      ASSERT_TRUE(connection.send(std::string_view(pipeline).substr(at, piece)));
    for (const auto& [request, status] : requests) {
      SCOPED_TRACE(request.substr(0, request.find('\r')));
      const auto reply = connection.read_response(request.starts_with("HEAD"));
      ASSERT_TRUE(reply);
      EXPECT_EQ(reply->status, status) << reply->body;
      EXPECT_TRUE(reply->keep_alive);
    }
    const auto last = connection.read_response();
    ASSERT_TRUE(last);
    EXPECT_EQ(last->status, 200u);
    EXPECT_FALSE(last->keep_alive);
    EXPECT_EQ(connection.wait_for_close(3s), Ending::closed);
    EXPECT_EQ(connection.received_after_wait(), 0u);
  }
}

TEST_F(AdminAbuse, AMalformedPipelinedRequestEndsTheConnection) {
  RawConnection connection(server_->port());
  const std::string get = std::string("GET /admin/flags/f") + kHead + "\r\n";
  ASSERT_TRUE(connection.send(get + "GARBAGE\r\n\r\n" + get));
  EXPECT_EQ(connection.read_response()->status, 200u);
  const auto refused = connection.read_response();
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 400u);
  EXPECT_FALSE(refused->keep_alive);
  EXPECT_EQ(connection.wait_for_close(3s), Ending::closed);
  EXPECT_EQ(connection.received_after_wait(), 0u);
}

}  // namespace
}  // namespace patchstream::admin
