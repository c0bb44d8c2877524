// Request parsing, authorization and status mapping for the flag routes.
#include "admin/flag_routes.h"

#include <algorithm>
#include <charconv>
#include <memory>
#include <variant>

#include <nlohmann/json.hpp>

#include "admin/admin_auth.h"
#include "flags/flag_json.h"

namespace patchstream::admin {
namespace {

using nlohmann::json;
using namespace patchstream::flags;

constexpr std::string_view kPrefix = "/admin/flags/";

std::string dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

HttpResponse field_error(const FieldError& error) {
  const std::string detail =
      error.field.empty() ? error.message : error.field + " " + error.message;
  return error_response(400, "invalid_field", detail, "\"field\":" + dump(json(error.field)));
}

HttpResponse method_not_allowed(const HttpRequest& request, std::string allow) {
  auto response = error_response(
      405, "method_not_allowed",
      request.method + " is not allowed on " + request.path + " (allowed: " + allow + ")");
  response.headers.emplace_back("Allow", std::move(allow));
  return response;
}

// The body as a JSON object; an empty body is {} when `empty_allowed`.
std::variant<FlagFields, HttpResponse> read_fields(const HttpRequest& request, bool empty_allowed) {
  if (request.body.find_first_not_of(" \t\r\n") == std::string::npos) {
    if (empty_allowed) return FlagFields{};
    return error_response(400, "malformed_json", "the body is empty; send a JSON object");
  }
  json body;
  try {
    body = json::parse(request.body);
  } catch (const json::parse_error& e) {
    return error_response(400, "malformed_json", e.what());
  }
  auto fields = parse_flag_fields(body);
  if (auto* error = std::get_if<FieldError>(&fields)) return field_error(*error);
  return std::get<FlagFields>(std::move(fields));
}

std::string actor_of(const HttpRequest& request, const FlagRoutesConfig& config) {
  const std::string_view actor = request.header(config.actor_header);
  return actor.empty() ? config.default_actor : std::string(actor);
}

HttpResponse answer(const ChangeOutcome& outcome, bool created_is_201) {
  switch (outcome.status) {
    case ChangeStatus::applied: {
      const bool created = created_is_201 && outcome.flag && outcome.flag->revision == 1;
      return json_response(created ? 201 : 200, dump(to_json(*outcome.flag)));
    }
    case ChangeStatus::invalid:
      return error_response(400, outcome.error, outcome.detail,
                            "\"field\":" + dump(json(outcome.field)));
    case ChangeStatus::not_found:
      return error_response(404, outcome.error, outcome.detail);
    case ChangeStatus::stale_revision:
      return error_response(409, outcome.error, outcome.detail,
                            "\"current_revision\":" + std::to_string(outcome.current_revision));
    case ChangeStatus::storage_failed:
      return error_response(500, outcome.error, outcome.detail);
  }
  return error_response(500, "internal_error", "unknown change outcome");
}

class FlagRoutes {
 public:
  FlagRoutes(FlagCatalog& catalog, FlagRoutesConfig config)
      : catalog_(catalog), config_(std::move(config)) {}

  HttpResponse list(const HttpRequest&) const {
    json flags = json::array();
    for (const auto& flag : catalog_.list())
      flags.push_back(to_json(flag));
    return json_response(200, dump(json{{"flags", flags}}));
  }

  // POST /admin/flags: the seed runbook's call, a partial change naming the flag in the body.
  HttpResponse change_named_in_body(const HttpRequest& request) const {
    if (auto refusal = refuse_unauthorized(request, config_.token)) return *refusal;
    auto fields = read_fields(request, false);
    if (auto* error = std::get_if<HttpResponse>(&fields)) return *error;
    auto& given = std::get<FlagFields>(fields);
    if (!given.name) return field_error(FieldError{"name", "is required"});
    std::string name = *given.name;  // copied first: `given` is moved in the same call
    return change(request, ChangeKind::update, std::move(name), std::move(given));
  }

  // Everything under /admin/flags/: {name}, {name}/history, {name}/rollback.
  HttpResponse flag_resource(const HttpRequest& request) const {
    std::string_view rest = std::string_view(request.path).substr(kPrefix.size());
    const auto slash = rest.find('/');
    const std::string name(rest.substr(0, slash));
    const std::string_view sub =
        slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
    if (name.empty()) return error_response(404, "not_found", "no resource at " + request.path);
    if (auto error = check_flag_name(name)) return field_error(*error);

    if (slash == std::string_view::npos) {
      if (request.method == "GET") return get(name);
      if (request.method == "PUT" || request.method == "POST") {
        if (auto refusal = refuse_unauthorized(request, config_.token)) return *refusal;
        auto fields = read_fields(request, false);
        if (auto* error = std::get_if<HttpResponse>(&fields)) return *error;
        const auto kind = request.method == "PUT" ? ChangeKind::replace : ChangeKind::update;
        return change(request, kind, name, std::get<FlagFields>(std::move(fields)));
      }
      return method_not_allowed(request, "GET, PUT, POST");
    }
    if (sub == "history") {
      if (request.method != "GET") return method_not_allowed(request, "GET");
      return history(request, name);
    }
    if (sub == "rollback") {
      if (request.method != "POST") return method_not_allowed(request, "POST");
      if (auto refusal = refuse_unauthorized(request, config_.token)) return *refusal;
      auto fields = read_fields(request, true);
      if (auto* error = std::get_if<HttpResponse>(&fields)) return *error;
      auto& given = std::get<FlagFields>(fields);
      if (given.enabled || given.percentage || given.group_id || given.allow_users ||
          given.deny_users || given.auto_rollback || given.revision ||
          (given.name && *given.name != name)) {
        return field_error(FieldError{"", "a rollback takes only an optional \"reason\""});
      }
      return change(request, ChangeKind::rollback, name, std::move(given));
    }
    return error_response(404, "not_found", "no resource at " + request.path);
  }

 private:
  HttpResponse get(const std::string& name) const {
    auto flag = catalog_.get(name);
    if (!flag) return error_response(404, "unknown_flag", "no flag named '" + name + "'");
    return json_response(200, dump(to_json(*flag)));
  }

  HttpResponse history(const HttpRequest& request, const std::string& name) const {
    std::size_t limit = 0;
    if (auto text = request.query_parameter("limit")) {
      const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), limit);
      if (ec != std::errc{} || end != text->data() + text->size() || limit == 0) {
        return field_error(FieldError{"limit", "must be a positive integer"});
      }
    }
    auto records = catalog_.history(name, limit);
    if (!records) return error_response(404, "unknown_flag", "no flag named '" + name + "'");
    json items = json::array();
    for (const auto& record : *records)
      items.push_back(to_json(record));
    return json_response(200, dump(json{{"flag", name}, {"history", items}}));
  }

  HttpResponse change(const HttpRequest& request, ChangeKind kind, std::string name,
                      FlagFields fields) const {
    ChangeRequest change{kind, std::move(name), std::move(fields), actor_of(request, config_), {}};
    return answer(catalog_.change(change), kind == ChangeKind::replace);
  }

  FlagCatalog& catalog_;
  FlagRoutesConfig config_;
};

}  // namespace

void add_flag_routes(Router& router, FlagCatalog& catalog, FlagRoutesConfig config) {
  auto routes = std::make_shared<const FlagRoutes>(catalog, std::move(config));
  router.add("GET", "/admin/flags", [routes](const HttpRequest& r) { return routes->list(r); });
  router.add("POST", "/admin/flags",
             [routes](const HttpRequest& r) { return routes->change_named_in_body(r); });
  for (const char* method : {"GET", "PUT", "POST"}) {
    router.add_prefix(method, std::string(kPrefix),
                      [routes](const HttpRequest& r) { return routes->flag_resource(r); });
  }
}

}  // namespace patchstream::admin
