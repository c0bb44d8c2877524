// `patchstream flags ...` and `patchstream bucket` against a running admin server.
#include <gtest/gtest.h>

#include <sstream>

#include <nlohmann/json.hpp>

#include "admin/flag_routes.h"
#include "admin/http_server.h"
#include "cli/bucket_command.h"
#include "cli/flags_command.h"
#include "flags/flag_catalog.h"
#include "flags/memory_flag_store.h"

namespace patchstream {
namespace {

class FlagsCli : public ::testing::Test {
 protected:
  FlagsCli() : catalog_(store_, registry_) {
    admin::add_flag_routes(router_, catalog_, admin::FlagRoutesConfig{"tok"});
    admin::AdminServerConfig config;
    config.port = 0;
    server_ = std::make_unique<admin::AdminServer>(config, router_);
    server_->start();
    address_ = "127.0.0.1:" + std::to_string(server_->port());
  }

  // Runs `patchstream <arguments>`; returns the exit code CLI11 would give.
  int run(const std::string& arguments) {
    out_.str("");
    err_.str("");
    CLI::App app;
    add_flags_command(app, out_, err_);
    add_bucket_command(app, out_);
    try {
      app.parse(arguments, false);
    } catch (const CLI::ParseError& e) {
      return e.get_exit_code();
    }
    return 0;
  }
  int flags(const std::string& arguments) {
    const auto space = arguments.find(' ');
    return run("flags " + arguments.substr(0, space) + " --addr " + address_ + " --token tok" +
               (space == std::string::npos ? "" : arguments.substr(space)));
  }

  flags::MemoryFlagStore store_;
  flags::FlagRegistry registry_;
  flags::FlagCatalog catalog_;
  admin::Router router_;
  std::unique_ptr<admin::AdminServer> server_;
  std::string address_;
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(FlagsCli, SetCreatesThenUpdatesWithTheCurrentRevision) {
  ASSERT_EQ(flags("set batch-patches-v1 --enabled true --percentage 10 --reason \"wave 1\""), 0)
      << err_.str();
  EXPECT_EQ(out_.str(), "created batch-patches-v1: revision 1, enabled true, percentage 10%\n");
  ASSERT_EQ(flags("set batch-patches-v1 --percentage 25 --actor carol --deny u-1,u-2"), 0)
      << err_.str();
  EXPECT_EQ(out_.str(), "updated batch-patches-v1: revision 2, enabled true, percentage 25%\n");
  const auto flag = *catalog_.get("batch-patches-v1");
  EXPECT_EQ(flag.updated_by, "carol");
  EXPECT_EQ(flag.deny_users, (std::vector<std::string>{"u-1", "u-2"}));
  // A stale explicit revision is refused and reported.
  EXPECT_EQ(flags("set batch-patches-v1 --percentage 50 --revision 1"), 1);
  EXPECT_NE(err_.str().find("HTTP 409 stale_revision"), std::string::npos) << err_.str();
}

TEST_F(FlagsCli, ListGetHistoryAsTablesAndJson) {
  ASSERT_EQ(flags("set f --enabled true --percentage 10"), 0);
  ASSERT_EQ(flags("set f --percentage 25"), 0);
  ASSERT_EQ(flags("list"), 0);
  EXPECT_NE(out_.str().find("NAME"), std::string::npos);
  EXPECT_NE(out_.str().find("25%"), std::string::npos);
  ASSERT_EQ(flags("list --json"), 0);
  EXPECT_EQ(nlohmann::json::parse(out_.str())["flags"][0]["percentage"], 25);
  ASSERT_EQ(flags("get f"), 0);
  EXPECT_NE(out_.str().find("percentage:    25"), std::string::npos) << out_.str();
  ASSERT_EQ(flags("history f"), 0);
  EXPECT_NE(out_.str().find("percentage 10 -> 25"), std::string::npos) << out_.str();
  ASSERT_EQ(flags("history f --json --limit 1"), 0);
  EXPECT_EQ(nlohmann::json::parse(out_.str())["history"].size(), 1u);
  EXPECT_EQ(flags("get missing"), 1);
  EXPECT_NE(err_.str().find("HTTP 404"), std::string::npos);
}

TEST_F(FlagsCli, RollbackAndErrors) {
  ASSERT_EQ(flags("set f --enabled true --percentage 50"), 0);
  ASSERT_EQ(flags("rollback f --reason \"p99 too high\""), 0) << err_.str();
  EXPECT_EQ(out_.str(), "rolled back f to 0%: revision 2\n");
  EXPECT_EQ(catalog_.get("f")->reason, "p99 too high");
  EXPECT_EQ(run("flags rollback f --addr " + address_ + " --token wrong"), 1);
  EXPECT_NE(err_.str().find("HTTP 403"), std::string::npos);
  EXPECT_EQ(run("flags list --addr 127.0.0.1:1"), 1);
  EXPECT_NE(err_.str().find("cannot reach"), std::string::npos);
  EXPECT_EQ(run("flags list --addr nonsense:"), 1);
  EXPECT_NE(run("flags set f --percentage 101"), 0);  // refused by the option check
}

TEST_F(FlagsCli, AddressAndTokenFromEnvironment) {
  ::setenv("PATCHSTREAM_ADMIN_ADDR", address_.c_str(), 1);
  ::setenv("PATCHSTREAM_ADMIN_TOKEN", "tok", 1);
  EXPECT_EQ(run("flags set g --enabled true --percentage 5"), 0) << err_.str();
  ::unsetenv("PATCHSTREAM_ADMIN_ADDR");
  ::unsetenv("PATCHSTREAM_ADMIN_TOKEN");
  EXPECT_EQ(catalog_.get("g")->percentage, 5);
}

TEST_F(FlagsCli, BucketPrintsTheUnleashBucket) {
  ASSERT_EQ(run("bucket gr1 123"), 0);
  EXPECT_EQ(out_.str(), "73\n");
  ASSERT_EQ(run("bucket Feature.flexibleRollout.10 174 --percentage 10"), 0);
  EXPECT_EQ(out_.str(), "10 in\n");
  ASSERT_EQ(run("bucket Feature.flexibleRollout.10 499 -p 10"), 0);
  EXPECT_EQ(out_.str(), "32 out\n");
}

}  // namespace
}  // namespace patchstream
