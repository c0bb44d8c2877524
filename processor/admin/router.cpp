// Route matching and the JSON/text answer helpers.
#include "admin/router.h"

#include <algorithm>
#include <cctype>
#include <exception>
#include <mutex>

#include <nlohmann/json.hpp>

namespace patchstream::admin {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

std::string_view HttpRequest::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (iequals(key, name)) return value;
  }
  return {};
}

std::optional<std::string> HttpRequest::query_parameter(std::string_view name) const {
  std::string_view rest = query;
  while (!rest.empty()) {
    const auto end = rest.find('&');
    std::string_view pair = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
    const auto equals = pair.find('=');
    if (pair.substr(0, equals) != name) continue;
    return std::string(equals == std::string_view::npos ? std::string_view{}
                                                        : pair.substr(equals + 1));
  }
  return std::nullopt;
}

HttpResponse json_response(unsigned status, std::string body) {
  return HttpResponse{status, "application/json", std::move(body), {}};
}

HttpResponse text_response(unsigned status, std::string body, std::string content_type) {
  return HttpResponse{status, std::move(content_type), std::move(body), {}};
}

HttpResponse error_response(unsigned status, std::string_view error, std::string_view detail,
                            std::string_view extra_members) {
  std::string body = nlohmann::json{{"error", error}, {"detail", detail}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (!extra_members.empty()) {
    body.pop_back();
    body += ',';
    body += extra_members;
    body += '}';
  }
  return json_response(status, std::move(body));
}

void Router::add(std::string method, std::string path, RouteHandler handler) {
  std::unique_lock lock(mutex_);
  routes_.push_back(Route{std::move(method), std::move(path), false, std::move(handler)});
}

void Router::add_prefix(std::string method, std::string prefix, RouteHandler handler) {
  std::unique_lock lock(mutex_);
  routes_.push_back(Route{std::move(method), std::move(prefix), true, std::move(handler)});
}

HttpResponse Router::dispatch(const HttpRequest& request) const {
  RouteHandler handler;
  std::vector<std::string> allowed;
  {
    std::shared_lock lock(mutex_);
    // The best match for the path: exact beats prefix, longer prefix beats shorter.
    const Route* best_path = nullptr;
    auto better = [](const Route& candidate, const Route* current) {
      if (current == nullptr) return true;
      if (candidate.prefix != current->prefix) return !candidate.prefix;
      return candidate.path.size() > current->path.size();
    };
    for (const auto& route : routes_) {
      const bool matches =
          route.prefix ? request.path.starts_with(route.path) : request.path == route.path;
      if (matches && better(route, best_path)) best_path = &route;
    }
    if (best_path == nullptr) {
      return error_response(404, "not_found", "no resource at " + request.path);
    }
    for (const auto& route : routes_) {
      if (route.path != best_path->path || route.prefix != best_path->prefix) continue;
      if (route.method == request.method) handler = route.handler;
      if (std::find(allowed.begin(), allowed.end(), route.method) == allowed.end()) {
        allowed.push_back(route.method);
      }
    }
  }
  if (!handler) {
    std::string allow;
    for (const auto& method : allowed)
      allow += (allow.empty() ? "" : ", ") + method;
    auto response = error_response(
        405, "method_not_allowed",
        request.method + " is not allowed on " + request.path + " (allowed: " + allow + ")");
    response.headers.emplace_back("Allow", allow);
    return response;
  }
  try {
    return handler(request);
  } catch (const std::exception& e) {
    return error_response(500, "internal_error", e.what());
  }
}

}  // namespace patchstream::admin
