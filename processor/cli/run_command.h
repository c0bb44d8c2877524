// `patchstream run` (the Kafka processor) and `patchstream config` (the effective configuration).
#pragma once

#include <CLI/CLI.hpp>

namespace patchstream {

void add_run_command(CLI::App& app);
void add_config_command(CLI::App& app);

}  // namespace patchstream
