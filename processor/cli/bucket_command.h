// `patchstream bucket GROUP_ID USER_ID`: the rollout bucket (1..100) of a user, as the flag sees
// it.
#pragma once

#include <iosfwd>

#include <CLI/CLI.hpp>

namespace patchstream {

void add_bucket_command(CLI::App& app);
// The same, writing to `out` (tests).
void add_bucket_command(CLI::App& app, std::ostream& out);

}  // namespace patchstream
