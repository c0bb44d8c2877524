// `patchstream flags list|get|set|rollback|history`: the admin API from the command line.
#pragma once

#include <iosfwd>

#include <CLI/CLI.hpp>

namespace patchstream {

// Address and token come from --addr/--token (or --token-file), else PATCHSTREAM_ADMIN_ADDR /
// PATCHSTREAM_ADMIN_TOKEN; tables by default, the server's JSON with --json. Failures exit 1.
void add_flags_command(CLI::App& app);
// The same, writing to `out` and `err` (tests).
void add_flags_command(CLI::App& app, std::ostream& out, std::ostream& err);

}  // namespace patchstream
