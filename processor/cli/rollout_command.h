// `patchstream rollout start|status|pause|resume|promote|abort|retry`: rollout plans via the admin
// API.
#pragma once

#include <iosfwd>

#include <CLI/CLI.hpp>

namespace patchstream {

// The same address/token options and variables as `patchstream flags`; a refused control (409,
// 403, 404, ...) prints the server's answer and exits 1.
void add_rollout_command(CLI::App& app);
void add_rollout_command(CLI::App& app, std::ostream& out, std::ostream& err);

}  // namespace patchstream
