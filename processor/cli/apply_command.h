// `patchstream apply`: the pipeline over newline-delimited files, no Kafka, no flag.
#pragma once

#include <CLI/CLI.hpp>

namespace patchstream {

void add_apply_command(CLI::App& app);

}  // namespace patchstream
