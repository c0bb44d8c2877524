// patchstream: one binary, one subcommand per job; each command is built in processor/cli.
#include <CLI/CLI.hpp>

#include "cli/apply_command.h"

int main(int argc, char** argv) {
  CLI::App app{"patchstream: batch-patch stream processor with percentage rollout flags",
               "patchstream"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "patchstream 0.1.0");
  patchstream::add_apply_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return 0;
}
