// The /admin/flags API (SPEC §3, §4): reads are open, changes need the bearer token.
#pragma once

#include <optional>
#include <string>

#include "admin/router.h"
#include "flags/flag_catalog.h"

namespace patchstream::admin {

struct FlagRoutesConfig {
  std::optional<std::string> token;                  // nullopt: every change is refused with 403
  std::string actor_header = "X-Patchstream-Actor";  // who to record as updated_by
  std::string default_actor = "admin-api";
};

// Registers GET/POST /admin/flags and GET/PUT/POST under /admin/flags/. `catalog` must outlive
// the router's use of these routes.
void add_flag_routes(Router& router, flags::FlagCatalog& catalog, FlagRoutesConfig config);

}  // namespace patchstream::admin
