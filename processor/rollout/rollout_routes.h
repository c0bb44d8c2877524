// The /admin/rollouts API: reads are open, every change needs the bearer token (as for flags).
#pragma once

#include <optional>
#include <string>

#include "admin/router.h"
#include "rollout/rollout_controller.h"

namespace patchstream::rollout {

struct RolloutRoutesConfig {
  std::optional<std::string> token;  // nullopt: every change is refused with 403
  std::string actor_header = "X-Patchstream-Actor";
  std::string default_actor = "admin-api";
};

// POST /admin/rollouts (body: the plan), GET /admin/rollouts/{flag},
// POST /admin/rollouts/{flag}/{pause|resume|promote|abort|retry}.
void add_rollout_routes(admin::Router& router, RolloutController& controller,
                        RolloutRoutesConfig config);

}  // namespace patchstream::rollout
