// patchstream: one binary, one subcommand per job; each command is built in processor/cli.
#include <CLI/CLI.hpp>

#include "cli/alert_router_command.h"
#include "cli/apply_command.h"
#include "cli/bucket_command.h"
#include "cli/flags_command.h"
#include "cli/mock_broker_command.h"
#include "cli/produce_command.h"
#include "cli/rollout_command.h"
#include "cli/run_command.h"

int main(int argc, char** argv) {
  CLI::App app{"patchstream: batch-patch stream processor with percentage rollout flags",
               "patchstream"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "patchstream 0.1.0");
  patchstream::add_run_command(app);
  patchstream::add_apply_command(app);
  patchstream::add_bucket_command(app);
  patchstream::add_flags_command(app);
  patchstream::add_rollout_command(app);
  patchstream::add_config_command(app);
  patchstream::add_produce_command(app);
  patchstream::add_mock_broker_command(app);
  patchstream::add_alert_router_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return 0;
}
