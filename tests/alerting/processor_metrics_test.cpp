// ProcessorMetrics through the admin server: every family present from the start, counts move,
// label values bounded, and `promtool check metrics` finds nothing to say about the scrape.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "admin/admin_client.h"
#include "admin/http_server.h"
#include "metrics/metrics_route.h"
#include "metrics/process_collector.h"
#include "metrics/processor_metrics.h"

namespace patchstream::metrics {
namespace {

class MetricsScrape : public ::testing::Test {
 protected:
  MetricsScrape() : registry_(std::make_shared<prometheus::Registry>()), metrics_(registry_) {
    add_metrics_route(router_, registry_);
    admin::AdminServerConfig config;
    config.port = 0;
    server_ = std::make_unique<admin::AdminServer>(config, router_);
    server_->start();
  }

  admin::AdminReply scrape(std::string_view method = "GET") const {
    admin::AdminClient client({"127.0.0.1", std::to_string(server_->port())});
    return client.request(method, "/metrics");
  }

  // `promtool check metrics` on `text`: its exit status and everything it printed.
  static std::pair<int, std::string> promtool_check(const std::string& text) {
    const auto dir = std::filesystem::temp_directory_path();
    const auto input = dir / ("metrics-" + std::to_string(getpid()) + ".txt");
    const auto output = dir / ("promtool-" + std::to_string(getpid()) + ".txt");
    std::ofstream(input) << text;
    const std::string command =
        "promtool check metrics < '" + input.string() + "' > '" + output.string() + "' 2>&1";
    const int status = std::system(command.c_str());
    std::stringstream printed;
    printed << std::ifstream(output).rdbuf();
    std::filesystem::remove(input);
    std::filesystem::remove(output);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, printed.str()};
  }

  std::shared_ptr<prometheus::Registry> registry_;
  ProcessorMetrics metrics_;
  admin::Router router_;
  std::unique_ptr<admin::AdminServer> server_;
};

Timings total_only(std::uint64_t us) {
  Timings timings;
  timings.total_us = us;
  return timings;
}

bool has_line(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

TEST_F(MetricsScrape, CountersStartAtZero) {
  const auto reply = scrape();
  ASSERT_EQ(reply.status, 200u);
  EXPECT_EQ(reply.content_type, "text/plain; version=0.0.4; charset=utf-8");
  const std::string& text = reply.body;
  EXPECT_TRUE(has_line(text, R"(patchstream_batches_total{route="pipeline",status="applied"} 0)"));
  EXPECT_TRUE(has_line(text, R"(patchstream_batches_total{route="legacy",status="forwarded"} 0)"));
  EXPECT_TRUE(has_line(text, R"(patchstream_patches_total{op="delete",status="rejected"} 0)"));
  EXPECT_TRUE(has_line(text, R"(patchstream_violations_total{code="overlapping_patches"} 0)"));
  EXPECT_TRUE(has_line(text, R"(patchstream_dead_letters_total{reason="result_too_large"} 0)"));
  EXPECT_TRUE(has_line(text, R"(patchstream_dead_letters_total{reason="legacy_too_large"} 0)"));
  EXPECT_TRUE(has_line(text, "patchstream_flag_changes_total 0"));
  EXPECT_TRUE(has_line(text, "patchstream_transaction_aborts_total 0"));
  EXPECT_TRUE(has_line(text, "patchstream_commit_duration_seconds_count 0"));
  EXPECT_TRUE(has_line(text, "patchstream_events_in_flight 0"));
  EXPECT_TRUE(has_line(text, "patchstream_open_transaction_age_seconds 0"));
  EXPECT_TRUE(has_line(
      text, R"(patchstream_batch_latency_seconds_count{route="pipeline",stage="execute"} 0)"));
  EXPECT_TRUE(has_line(text, R"(patchstream_batch_size_patches_count{route="legacy"} 0)"));
  for (const char* name :
       {"process_resident_memory_bytes", "process_cpu_seconds_total", "process_open_fds",
        "process_max_fds", "process_start_time_seconds", "process_virtual_memory_bytes"}) {
    EXPECT_NE(text.find(std::string("\n") + name + " "), std::string::npos) << name;
  }
}

TEST_F(MetricsScrape, RecordsMove) {
  Timings timings{.parse_us = 3, .normalize_us = 1, .execute_us = 2, .total_us = 700'000};
  metrics_.record_result(Route::pipeline, BatchStatus::applied, timings, {1, 2, 3});
  metrics_.record_result(Route::pipeline, BatchStatus::rejected, timings, {0, 0, 4});
  metrics_.record_result(Route::legacy, BatchStatus::forwarded, total_only(20), {5, 0, 0});
  metrics_.record_violation(ViolationCode::overlapping_patches);
  metrics_.record_dead_letter(DeadLetterCode::not_json);
  metrics_.record_dead_letter(DeadLetterReason::result_too_large);
  metrics_.set_lag(0, 12);
  metrics_.set_lag(3, 4);
  metrics_.set_lag(100000, 1);  // beyond max_partitions: not exported
  metrics_.clear_lag(3);
  metrics_.set_flag_percentage("batch-patches-v1", 50);
  metrics_.set_flag_percentage("batch-patches-v1", 25);
  metrics_.flag_changed();
  metrics_.set_in_flight(7);
  metrics_.set_transaction_age(0.25);
  metrics_.transaction_committed(120, 0.004);
  metrics_.transaction_committed(30, 0.02);
  metrics_.fetcher_woken();

  const std::string text = scrape().body;
  EXPECT_TRUE(has_line(text, R"(patchstream_batches_total{route="pipeline",status="applied"} 1)"));
  EXPECT_TRUE(has_line(text, R"(patchstream_batches_total{route="pipeline",status="rejected"} 1)"));
  EXPECT_TRUE(has_line(text, R"(patchstream_batches_total{route="legacy",status="forwarded"} 1)"));
  EXPECT_TRUE(has_line(text, R"(patchstream_patches_total{op="insert",status="applied"} 1)"));
  EXPECT_TRUE(has_line(text, R"(patchstream_patches_total{op="delete",status="applied"} 3)"));
  EXPECT_TRUE(has_line(text, R"(patchstream_patches_total{op="delete",status="rejected"} 4)"));
  EXPECT_TRUE(has_line(text, R"(patchstream_patches_total{op="insert",status="forwarded"} 5)"));
  EXPECT_TRUE(has_line(text, R"(patchstream_violations_total{code="overlapping_patches"} 1)"));
  EXPECT_TRUE(has_line(text, R"(patchstream_dead_letters_total{reason="not_json"} 1)"));
  EXPECT_TRUE(has_line(text, R"(patchstream_dead_letters_total{reason="result_too_large"} 1)"));
  EXPECT_TRUE(has_line(text, R"(patchstream_consumer_lag_records{partition="0"} 12)"));
  EXPECT_EQ(text.find(R"(partition="3")"), std::string::npos);
  EXPECT_EQ(text.find(R"(partition="100000")"), std::string::npos);
  EXPECT_TRUE(has_line(text, R"(patchstream_flag_percentage{flag="batch-patches-v1"} 25)"));
  EXPECT_TRUE(has_line(text, "patchstream_flag_changes_total 1"));
  EXPECT_TRUE(has_line(text, "patchstream_events_in_flight 7"));
  EXPECT_TRUE(has_line(text, "patchstream_open_transaction_age_seconds 0.25"));
  // 0.7 s total: above the 0.6 bucket, within 0.8.
  EXPECT_TRUE(has_line(
      text,
      R"(patchstream_batch_latency_seconds_bucket{route="pipeline",stage="total",le="0.6"} 0)"));
  EXPECT_TRUE(has_line(
      text,
      R"(patchstream_batch_latency_seconds_bucket{route="pipeline",stage="total",le="0.8"} 2)"));
  EXPECT_TRUE(
      has_line(text, R"(patchstream_batch_latency_seconds_count{route="legacy",stage="parse"} 0)"));
  EXPECT_TRUE(has_line(text, R"(patchstream_batch_size_patches_sum{route="pipeline"} 10)"));
  EXPECT_TRUE(has_line(text, "patchstream_commit_duration_seconds_count 2"));
  EXPECT_TRUE(has_line(text, R"(patchstream_commit_duration_seconds_bucket{le="0.005"} 1)"));
  EXPECT_TRUE(has_line(text, "patchstream_commit_events_sum 150"));
  EXPECT_TRUE(has_line(text, "patchstream_fetcher_wakeups_total 1"));
}

TEST_F(MetricsScrape, PromtoolFindsTheScrapeClean) {
  metrics_.record_result(Route::pipeline, BatchStatus::applied, total_only(5), {1, 0, 0});
  metrics_.set_lag(1, 3);
  metrics_.set_flag_percentage("batch-patches-v1", 10);
  const auto [status, printed] = promtool_check(scrape().body);
  EXPECT_EQ(status, 0) << printed;
  EXPECT_EQ(printed, "");
}

TEST_F(MetricsScrape, OnlyGet) {
  EXPECT_EQ(scrape("POST").status, 405u);
}

TEST(ProcessStats, ReadsThisProcess) {
  const ProcessStats stats = read_process_stats();
  EXPECT_GT(stats.resident_memory_bytes, 1u << 20);
  EXPECT_GE(stats.virtual_memory_bytes, stats.resident_memory_bytes);
  EXPECT_GT(stats.open_fds, 2u);
  EXPECT_GT(stats.start_time_seconds, 1.6e9);
  EXPECT_GE(stats.cpu_seconds, 0.0);
}

TEST(PatchCounts, ByOp) {
  Batch batch;
  for (const Op op : {Op::erase, Op::insert, Op::erase}) {
    Patch patch;
    patch.op = op;
    batch.patches.push_back(patch);
  }
  EXPECT_EQ(count_patches(batch), (PatchCounts{1, 0, 2}));
}

}  // namespace
}  // namespace patchstream::metrics
