// `patchstream alert-router`: the alert topic delivered to every configured Alertmanager.
#pragma once

#include <CLI/CLI.hpp>

namespace patchstream {

void add_alert_router_command(CLI::App& app);

}  // namespace patchstream
