// Answers "is this user in the 25% wave?" without a running processor.
#include "cli/bucket_command.h"

#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "flags/bucket.h"

namespace patchstream {

void add_bucket_command(CLI::App& app) {
  add_bucket_command(app, std::cout);
}

void add_bucket_command(CLI::App& app, std::ostream& out) {
  struct Options {
    std::string group_id;
    std::string user_id;
    std::optional<int> percentage;
  };
  auto options = std::make_shared<Options>();
  auto* command = app.add_subcommand(
      "bucket",
      "Print a user's rollout bucket (1..100): murmur3_x86_32(\"GROUP_ID:USER_ID\") % 100 + 1. "
      "The group id is the flag's group_id, which defaults to the flag name.");
  command->add_option("GROUP_ID", options->group_id, "the flag's group_id (usually its name)")
      ->required();
  command->add_option("USER_ID", options->user_id, "the user id")->required();
  command
      ->add_option("--percentage,-p", options->percentage,
                   "also print whether the user is in at this percentage (\"in\" or \"out\")")
      ->check(CLI::Range(0, 100));
  command->callback([options, &out] {
    const int bucket = flags::rollout_bucket(options->group_id, options->user_id);
    out << bucket;
    if (options->percentage) {
      out << ((*options->percentage > 0 && bucket <= *options->percentage) ? " in" : " out");
    }
    out << "\n";
  });
}

}  // namespace patchstream
