// `patchstream produce`: a load generator publishing realistic patch-batch events to Kafka.
#pragma once

#include <CLI/CLI.hpp>

namespace patchstream {

void add_produce_command(CLI::App& app);

}  // namespace patchstream
