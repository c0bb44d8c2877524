// /admin/rollouts over the controller: the router's handlers parse paths and check the token.
#include "rollout/rollout_routes.h"

#include "admin/admin_auth.h"

namespace patchstream::rollout {

using admin::HttpRequest;
using admin::HttpResponse;

namespace {

constexpr std::string_view kPrefix = "/admin/rollouts/";

HttpResponse to_response(const ControlAnswer& answer) {
  return admin::json_response(answer.status, answer.body);
}

std::string actor_of(const HttpRequest& request, const RolloutRoutesConfig& config) {
  const std::string_view actor = request.header(config.actor_header);
  return actor.empty() ? config.default_actor : std::string(actor);
}

}  // namespace

void add_rollout_routes(admin::Router& router, RolloutController& controller,
                        RolloutRoutesConfig config) {
  router.add("POST", "/admin/rollouts", [&controller, config](const HttpRequest& request) {
    if (auto refusal = admin::refuse_unauthorized(request, config.token)) return *refusal;
    return to_response(controller.start_plan(request.body, actor_of(request, config)));
  });
  const auto parts = [](const HttpRequest& request) {
    std::string_view rest = std::string_view(request.path).substr(kPrefix.size());
    const auto slash = rest.find('/');
    return std::pair<std::string_view, std::string_view>(
        rest.substr(0, slash), slash == std::string_view::npos ? "" : rest.substr(slash + 1));
  };
  router.add_prefix("GET", std::string(kPrefix), [&controller, parts](const HttpRequest& request) {
    const auto [flag, control] = parts(request);
    if (!control.empty())
      return admin::error_response(404, "not_found", "GET /admin/rollouts/{flag}");
    return to_response(controller.status(flag));
  });
  router.add_prefix(
      "POST", std::string(kPrefix), [&controller, config, parts](const HttpRequest& request) {
        if (auto refusal = admin::refuse_unauthorized(request, config.token)) return *refusal;
        const auto [flag, control] = parts(request);
        if (control.empty() || control.find('/') != std::string_view::npos)
          return admin::error_response(
              404, "not_found", "POST /admin/rollouts/{flag}/{pause|resume|promote|abort|retry}");
        return to_response(controller.control(flag, control, actor_of(request, config)));
      });
}

}  // namespace patchstream::rollout
