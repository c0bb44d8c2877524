// Every /admin/flags route and every error status, through real HTTP over loopback.
#include <gtest/gtest.h>

#include <fstream>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "admin/admin_auth.h"
#include "admin_server_fixture.h"

namespace patchstream::admin {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using nlohmann::json;
using tcp = net::ip::tcp;

using namespace patchstream::admin::testing;

TEST_F(AdminHttp, ListGetAndCreate) {
  auto empty = call("GET", "/admin/flags");
  EXPECT_EQ(empty.status, 200u);
  EXPECT_EQ(empty.content_type, "application/json");
  EXPECT_EQ(body(empty), (json{{"flags", json::array()}}));

  auto created =
      client().request("PUT", "/admin/flags/batch-patches-v1",
                       R"({"enabled":true,"percentage":10,"deny_users":["u-9"],"reason":"wave 1"})",
                       {{"X-Patchstream-Actor", "alice"}});
  ASSERT_EQ(created.status, 201u) << created.body;
  auto flag = body(created);
  EXPECT_EQ(flag["revision"], 1);
  EXPECT_EQ(flag["updated_by"], "alice");
  EXPECT_EQ(flag["group_id"], "batch-patches-v1");
  EXPECT_EQ(flag["deny_users"], json::array({"u-9"}));
  EXPECT_EQ(flag["reason"], "wave 1");

  auto got = call("GET", "/admin/flags/batch-patches-v1", {}, "");  // reads are open
  EXPECT_EQ(got.status, 200u);
  EXPECT_EQ(body(got), flag);
  EXPECT_EQ(body(call("GET", "/admin/flags"))["flags"].size(), 1u);
  // The change reached the hot path.
  EXPECT_EQ(registry_.snapshot()->find("batch-patches-v1")->percentage, 10);
}

TEST_F(AdminHttp, PutAndPostNeedTheCurrentRevision) {
  create("f", 10);
  auto replaced = call("PUT", "/admin/flags/f", R"({"enabled":true,"percentage":25,"revision":1})");
  EXPECT_EQ(replaced.status, 200u) << replaced.body;
  EXPECT_EQ(body(replaced)["revision"], 2);

  auto stale = call("POST", "/admin/flags/f", R"({"percentage":50,"revision":1})");
  EXPECT_EQ(stale.status, 409u);
  EXPECT_EQ(body(stale)["error"], "stale_revision");
  EXPECT_EQ(body(stale)["current_revision"], 2);
  auto missing = call("PUT", "/admin/flags/f", R"({"percentage":50})");
  EXPECT_EQ(missing.status, 409u);
  EXPECT_EQ(body(missing)["error"], "revision_required");

  auto partial = call("POST", "/admin/flags/f", R"({"percentage":50,"revision":2})");
  EXPECT_EQ(partial.status, 200u);
  EXPECT_EQ(body(partial)["percentage"], 50);
  EXPECT_EQ(body(partial)["enabled"], true);
  EXPECT_EQ(body(partial)["updated_by"], "admin-api");

  // A GET answer can be edited and sent back whole.
  auto current = body(call("GET", "/admin/flags/f"));
  current["percentage"] = 100;
  EXPECT_EQ(call("PUT", "/admin/flags/f", current.dump()).status, 200u);
}

TEST_F(AdminHttp, RunbookCallRollsBackWithoutARevision) {
  create("batch-patches-v1", 50);
  // curl -X POST http://HOST:9000/admin/flags -d '{"name":"batch-patches-v1","percentage":0}'
  const std::string payload = R"({"name":"batch-patches-v1","percentage":0})";
  const std::string request =
      "POST /admin/flags HTTP/1.1\r\nHost: x\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n"
      "Authorization: Bearer " +
      std::string(kToken) + "\r\nContent-Length: " + std::to_string(payload.size()) +
      "\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\n" + payload;
  EXPECT_EQ(raw_status(request), 200u);
  EXPECT_EQ(catalog_.get("batch-patches-v1")->percentage, 0);
  EXPECT_FALSE(registry_.evaluate("batch-patches-v1", "anyone").pipeline);

  EXPECT_EQ(call("POST", "/admin/flags", R"({"percentage":0})").status, 400u);
  auto unknown = call("POST", "/admin/flags", R"({"name":"nope","percentage":0})");
  EXPECT_EQ(unknown.status, 404u) << unknown.body;
  EXPECT_EQ(call("POST", "/admin/flags", R"({"name":"batch-patches-v1","percentage":5})").status,
            409u);
}

TEST_F(AdminHttp, RollbackAndHistory) {
  create("f", 10);
  ASSERT_EQ(call("POST", "/admin/flags/f", R"({"percentage":25,"revision":1})").status, 200u);
  auto rolled = call("POST", "/admin/flags/f/rollback", R"({"reason":"error rate"})");
  ASSERT_EQ(rolled.status, 200u) << rolled.body;
  EXPECT_EQ(body(rolled)["percentage"], 0);
  EXPECT_EQ(body(rolled)["reason"], "error rate");
  EXPECT_EQ(call("POST", "/admin/flags/f/rollback").status, 200u);  // no body at all
  EXPECT_EQ(call("POST", "/admin/flags/f/rollback", R"({"percentage":5})").status, 400u);
  EXPECT_EQ(call("POST", "/admin/flags/nope/rollback").status, 404u);

  auto history = call("GET", "/admin/flags/f/history");
  ASSERT_EQ(history.status, 200u);
  const auto records = body(history)["history"];
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records[0]["action"], "create");
  EXPECT_TRUE(records[0]["before"].is_null());
  EXPECT_EQ(records[1]["before"]["percentage"], 10);
  EXPECT_EQ(records[1]["after"]["percentage"], 25);
  EXPECT_EQ(records[2]["action"], "rollback");
  EXPECT_EQ(records[2]["reason"], "error rate");
  for (std::size_t i = 0; i < records.size(); ++i)
    EXPECT_EQ(records[i]["revision"], i + 1);

  auto last = call("GET", "/admin/flags/f/history?limit=1");
  ASSERT_EQ(body(last)["history"].size(), 1u);
  EXPECT_EQ(body(last)["history"][0]["revision"], 4);
  EXPECT_EQ(call("GET", "/admin/flags/f/history?limit=x").status, 400u);
  EXPECT_EQ(call("GET", "/admin/flags/nope/history").status, 404u);
}

TEST_F(AdminHttp, AuthenticationStatuses) {
  auto missing = call("PUT", "/admin/flags/f", R"({"percentage":1})", "");
  EXPECT_EQ(missing.status, 401u);
  EXPECT_EQ(body(missing)["error"], "missing_token");
  EXPECT_EQ(header_of(missing, "WWW-Authenticate"), "Bearer");
  auto basic = client("").request("PUT", "/admin/flags/f", R"({})",
                                  {{"Authorization", "Basic dXNlcjpwYXNz"}});
  EXPECT_EQ(basic.status, 401u);
  auto wrong = call("PUT", "/admin/flags/f", R"({"percentage":1})", "s3cret-tokeN");
  EXPECT_EQ(wrong.status, 403u);
  EXPECT_EQ(body(wrong)["error"], "wrong_token");
  EXPECT_EQ(call("POST", "/admin/flags/f/rollback", "", "x").status, 403u);
  EXPECT_EQ(call("POST", "/admin/flags", R"({"name":"f","percentage":0})", "").status, 401u);
  EXPECT_TRUE(catalog_.list().empty());
}

TEST_F(AdminHttp, ValidationErrorsAre400) {
  create("f", 10);
  const std::pair<const char*, const char*> cases[] = {
      {R"({"percentage":101,"revision":1})", "percentage"},
      {R"({"percentage":-1,"revision":1})", "percentage"},
      {R"({"percentage":12.5,"revision":1})", "percentage"},
      {R"({"percentage":"25","revision":1})", "percentage"},
      {R"({"enabled":"yes","revision":1})", "enabled"},
      {R"({"allow_users":"u-1","revision":1})", "allow_users"},
      {R"({"deny_users":[""],"revision":1})", "deny_users"},
      {R"({"group_id":"","revision":1})", "group_id"},
      {R"({"auto_rollback":1,"revision":1})", "auto_rollback"},
      {R"({"revision":-3})", "revision"},
      {R"({"percent":10,"revision":1})", "percent"},
      {R"({"name":"g","revision":1})", "name"},
  };
  for (const auto& [request, field] : cases) {
    auto reply = call("POST", "/admin/flags/f", request);
    EXPECT_EQ(reply.status, 400u) << request;
    EXPECT_EQ(body(reply)["error"], "invalid_field") << request;
    EXPECT_EQ(body(reply)["field"], field) << request;
    EXPECT_FALSE(body(reply)["detail"].get<std::string>().empty());
  }
  auto malformed = call("POST", "/admin/flags/f", R"({"percentage":)");
  EXPECT_EQ(malformed.status, 400u);
  EXPECT_EQ(body(malformed)["error"], "malformed_json");
  EXPECT_EQ(call("POST", "/admin/flags/f", "[1,2]").status, 400u);
  EXPECT_EQ(call("PUT", "/admin/flags/f", "").status, 400u);
  EXPECT_EQ(call("GET", "/admin/flags/bad%20name").status, 400u);
  auto actor = client().request("POST", "/admin/flags/f", R"({"percentage":1,"revision":1})",
                                {{"X-Patchstream-Actor", std::string(200, 'a')}});
  EXPECT_EQ(actor.status, 400u);
  EXPECT_EQ(catalog_.get("f")->revision, 1u);
}

TEST_F(AdminHttp, NotFoundAndMethodNotAllowed) {
  EXPECT_EQ(call("GET", "/admin/flags/nope").status, 404u);
  EXPECT_EQ(call("POST", "/admin/flags/nope", R"({"percentage":1,"revision":1})").status, 404u);
  EXPECT_EQ(call("GET", "/nowhere").status, 404u);
  EXPECT_EQ(call("GET", "/admin/flags/f/unknown").status, 404u);
  auto del = call("DELETE", "/admin/flags/f");
  EXPECT_EQ(del.status, 405u);
  EXPECT_EQ(header_of(del, "Allow"), "GET, PUT, POST");
  EXPECT_EQ(body(del)["error"], "method_not_allowed");
  auto put_list = call("PUT", "/admin/flags");
  EXPECT_EQ(put_list.status, 405u);
  EXPECT_EQ(header_of(put_list, "Allow"), "GET, POST");
  EXPECT_EQ(header_of(call("POST", "/admin/flags/f/history"), "Allow"), "GET");
  EXPECT_EQ(call("GET", "/admin/flags/f/rollback").status, 405u);
}

TEST_F(AdminHttp, OversizedBodyIs413AndOversizedHeadIs431) {
  create("f", 10);
  auto big = call("POST", "/admin/flags/f",
                  R"({"reason":")" + std::string(5000, 'x') + R"(","revision":1})");
  EXPECT_EQ(big.status, 413u);
  EXPECT_EQ(body(big)["error"], "body_too_large");
  auto huge_head =
      client().request("GET", "/admin/flags", {}, {{"X-Padding", std::string(3000, 'p')}});
  EXPECT_EQ(huge_head.status, 431u);
  EXPECT_EQ(body(huge_head)["error"], "headers_too_large");
  EXPECT_EQ(call("GET", "/admin/flags").status, 200u);  // still serving
}

TEST_F(AdminHttp, MalformedRequestIs400) {
  EXPECT_EQ(raw_status("GARBAGE\r\n\r\n"), 400u);
  EXPECT_EQ(raw_status("GET /admin/flags HTTP/1.1\r\nContent-Length: abc\r\n\r\n"), 400u);
}

TEST_F(AdminHttp, KeepAliveServesSeveralRequestsOnOneConnection) {
  net::io_context io;
  tcp::socket socket(io);
  socket.connect({net::ip::make_address("127.0.0.1"), server_->port()});
  beast::flat_buffer buffer;
  for (int i = 0; i < 3; ++i) {
    http::request<http::empty_body> request(http::verb::get, "/admin/flags", 11);
    request.set(http::field::host, "x");
    http::write(socket, request);
    http::response<http::string_body> response;
    http::read(socket, buffer, response);
    EXPECT_EQ(response.result_int(), 200u);
    EXPECT_TRUE(response.keep_alive());
  }
}

TEST_F(AdminHttp, SlowClientIsDisconnectedAfterTheReadTimeout) {
  net::io_context io;
  tcp::socket socket(io);
  socket.connect({net::ip::make_address("127.0.0.1"), server_->port()});
  net::write(socket, net::buffer(std::string("GET /admin/flags HTTP/1.1\r\nHost: x\r\n")));
  const auto start = std::chrono::steady_clock::now();
  char byte;
  beast::error_code ec;
  socket.read_some(net::buffer(&byte, 1), ec);  // blocks until the server hangs up
  EXPECT_EQ(ec, net::error::eof);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(call("GET", "/admin/flags").status, 200u);
}

TEST_F(AdminHttp, OtherModulesRegisterRoutes) {
  router_.add("GET", "/metrics", [](const HttpRequest&) {
    return text_response(200, "patchstream_up 1\n", "text/plain; version=0.0.4");
  });
  router_.add("GET", "/healthz",
              [](const HttpRequest&) -> HttpResponse { throw std::runtime_error("probe failed"); });
  router_.add_prefix("GET", "/debug/", [](const HttpRequest& request) {
    return text_response(200, request.path + "?" + request.query_parameter("q").value_or(""));
  });
  auto metrics = call("GET", "/metrics");
  EXPECT_EQ(metrics.status, 200u);
  EXPECT_EQ(metrics.content_type, "text/plain; version=0.0.4");
  EXPECT_EQ(metrics.body, "patchstream_up 1\n");
  auto failing = call("GET", "/healthz");
  EXPECT_EQ(failing.status, 500u);
  EXPECT_EQ(body(failing)["detail"], "probe failed");
  EXPECT_EQ(call("GET", "/debug/a/b?q=1").body, "/debug/a/b?1");
  EXPECT_EQ(call("POST", "/metrics").status, 405u);
}

class AdminHttpWithoutToken : public AdminHttp {
 protected:
  AdminHttpWithoutToken() : AdminHttp(std::nullopt) {}
};

TEST_F(AdminHttpWithoutToken, ChangesAreRefusedButReadsWork) {
  auto refused = call("PUT", "/admin/flags/f", R"({"percentage":1})");
  EXPECT_EQ(refused.status, 403u);
  EXPECT_EQ(body(refused)["error"], "changes_disabled");
  EXPECT_EQ(call("POST", "/admin/flags", R"({"name":"f","percentage":0})", "").status, 403u);
  EXPECT_EQ(call("GET", "/admin/flags").status, 200u);
}

TEST(AdminAuth, ConstantTimeCompare) {
  EXPECT_TRUE(tokens_equal("abc", "abc"));
  EXPECT_FALSE(tokens_equal("abd", "abc"));
  EXPECT_FALSE(tokens_equal("ab", "abc"));
  EXPECT_FALSE(tokens_equal("abcabc", "abc"));
  EXPECT_FALSE(tokens_equal("", ""));
}

TEST(AdminAuth, TokenFromFileOrEnvironment) {
  flags::testing::TempDirectory dir;
  std::ofstream(dir.path() / "token") << "  from-file\n";
  EXPECT_EQ(load_admin_token({dir.path() / "token", "PATCHSTREAM_TEST_UNSET_VARIABLE"}),
            "from-file");
  ::setenv("PATCHSTREAM_TEST_ADMIN_TOKEN", "from-env", 1);
  EXPECT_EQ(load_admin_token({{}, "PATCHSTREAM_TEST_ADMIN_TOKEN"}), "from-env");
  EXPECT_EQ(load_admin_token({{}, "PATCHSTREAM_TEST_UNSET_VARIABLE"}), std::nullopt);
  EXPECT_THROW(load_admin_token({dir.path() / "missing", ""}), std::runtime_error);
  std::ofstream(dir.path() / "empty") << "\n";
  EXPECT_THROW(load_admin_token({dir.path() / "empty", ""}), std::runtime_error);
}

TEST(AdminAddress, Parsing) {
  auto plain = parse_admin_address("10.0.0.1:9100");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->host, "10.0.0.1");
  EXPECT_EQ(plain->port, "9100");
  EXPECT_EQ(parse_admin_address("http://localhost/")->port, "9000");
  EXPECT_EQ(parse_admin_address("[::1]:9001")->host, "::1");
  EXPECT_FALSE(parse_admin_address(""));
  EXPECT_FALSE(parse_admin_address("host:"));
  EXPECT_FALSE(parse_admin_address("host:99999"));
  EXPECT_FALSE(parse_admin_address("host:x"));
}

TEST(AdminClientErrors, UnreachableServerThrows) {
  AdminClient client({"127.0.0.1", "1"}, "", std::chrono::milliseconds(500));
  EXPECT_THROW(client.request("GET", "/admin/flags"), std::system_error);
}

}  // namespace
}  // namespace patchstream::admin
