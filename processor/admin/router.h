// Request routing for the admin HTTP server: modules register handlers by method and path (or path
// prefix) without knowing anything about Beast, sockets or threads.
#pragma once

#include <functional>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace patchstream::admin {

struct HttpRequest {
  std::string method;  // upper case as sent, e.g. "GET"
  std::string path;    // the target before '?', not percent-decoded
  std::string query;   // the target after '?', without it
  std::vector<std::pair<std::string, std::string>> headers;  // names lower case
  std::string body;

  // The first value of a header (name matched case-insensitively); empty when absent.
  std::string_view header(std::string_view name) const;
  // A query parameter's raw value; nullopt when absent.
  std::optional<std::string> query_parameter(std::string_view name) const;
};

struct HttpResponse {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers, e.g. Allow
};

HttpResponse json_response(unsigned status, std::string body);
HttpResponse text_response(unsigned status, std::string body,
                           std::string content_type = "text/plain; charset=utf-8");
// The project's error shape: {"error": code, "detail": text}; `extra` adds fields (a JSON object's
// members, e.g. R"("field":"percentage")"), or is empty.
HttpResponse error_response(unsigned status, std::string_view error, std::string_view detail,
                            std::string_view extra_members = {});

// Runs on the server's thread: keep it short and non-blocking (it delays other admin requests,
// never event processing). An exception becomes a 500 answer.
using RouteHandler = std::function<HttpResponse(const HttpRequest&)>;

// Thread-safe: routes may be added before or after the server starts.
class Router {
 public:
  // Exact path, e.g. add("GET", "/metrics", handler).
  void add(std::string method, std::string path, RouteHandler handler);
  // Every path starting with `prefix` (the longest matching prefix wins over shorter ones; an exact
  // route wins over any prefix). The handler sees the whole path.
  void add_prefix(std::string method, std::string prefix, RouteHandler handler);

  // 404 when no route has the path, 405 (with Allow) when routes have it for other methods only.
  HttpResponse dispatch(const HttpRequest& request) const;

 private:
  struct Route {
    std::string method;
    std::string path;
    bool prefix;
    RouteHandler handler;
  };
  mutable std::shared_mutex mutex_;
  std::vector<Route> routes_;
};

}  // namespace patchstream::admin
