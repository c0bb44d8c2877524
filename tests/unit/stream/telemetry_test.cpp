// Telemetry's auto-rollback over a real FlagCatalog: retried until durable, counted when it fails,
// and judged only on samples taken after the latest percentage change.
#include "stream/telemetry.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <cstdio>
#include <thread>

#include "flags/memory_flag_store.h"
#include "pipeline/executor.h"
#include "rollout/rollout_controller.h"

namespace patchstream {
namespace {

using namespace std::chrono_literals;
constexpr std::string_view kFlag = "batch-patches-v1";

// A store whose next `failures` appends fail, as a Kafka store does while the broker is away.
class FlakyStore final : public flags::FlagStore {
 public:
  std::vector<flags::FlagDefinition> load() override { return inner_.load(); }
  std::optional<std::string> append(const flags::AuditRecord& record) override {
    if (failures > 0) {
      --failures;
      ++refused;
      return "broker unreachable (test)";
    }
    return inner_.append(record);
  }
  std::vector<flags::AuditRecord> history(std::string_view flag) const override {
    return inner_.history(flag);
  }
  int failures = 0;
  int refused = 0;

 private:
  flags::MemoryFlagStore inner_;
};

class TelemetryTest : public ::testing::Test {
 protected:
  TelemetryTest()
      : log_(3, std::fopen("/dev/null", "w")),
        prometheus_(std::make_shared<prometheus::Registry>()),
        metrics_(prometheus_),
        catalog_(store_, registry_),
        controller_(
            {.instance_id = "i1", .rollback_retry = 50ms}, catalog_, log_,
            {.rollback_failed = [this] { metrics_.auto_rollback_failed(); }, .status_changed = {}}),
        router_(std::in_place, settings(), registry_) {
    flags::FlagDefinition flag;
    flag.name = std::string(kFlag);
    flag.enabled = true;
    flag.percentage = 100;
    flag.auto_rollback = true;
    catalog_.declare({flag});

    TelemetrySettings settings;
    settings.instance_id = "i1";
    settings.flag = std::string(kFlag);
    settings.metrics_topic = "metrics";
    settings.alerts_topic = "alerts";
    settings.metrics_interval = 1h;
    settings.evaluate_every = 0ms;  // every tick: the test drives the pace
    settings.alerts.window = 60s;
    settings.alerts.window_slots = 60;
    settings.alerts.min_samples = 10;
    settings.alerts.resend_interval = 1s;  // a resend falls inside the test
    telemetry_.emplace(
        settings, metrics_, registry_,
        [this](std::string flag, std::string reason) {
          controller_.request_rollback(std::move(flag), std::move(reason));
        },
        log_);
    controller_.start();
  }

  // The rollback is carried out on the controller's worker: wait for it.
  bool reaches(int pct) {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (percentage() != pct) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(5ms);
    }
    return true;
  }

  static RouterSettings settings() {
    return {"i1", std::string(kFlag), "results", "legacy", "dlq", Limits{}, 1 << 20};
  }

  // n batches of distinct users; `bad`: every patch overlaps (rejected by the pipeline).
  void feed(int n, bool bad) {
    for (int i = 0; i < n; ++i) {
      std::string user = "u";  // appended: GCC 12 -O3 reports a false -Wrestrict for "u" + string
      user += std::to_string(next_user_++);
      const std::string patches =
          bad ? R"([{"op":"replace","line":1,"lines":["x"]},{"op":"delete","line":1}])"
              : R"([{"op":"replace","line":1,"lines":["x"]}])";
      const std::string value = R"({"batch_id":"b","user_id":")" + user +
                                R"(","document_id":"d","base_revision":0,"snapshot":["a"],)"
                                R"("patches":)" +
                                patches + "}";
      const OutputRecord& out = router_->route({"in", 0, 0, std::string_view("d"), value, {}});
      telemetry_->on_output(out);
    }
  }

  void tick() {
    const Emit emit = [this](std::string_view topic, std::string_view, std::string_view value,
                             std::span<const kafka::HeaderView>) {
      if (topic != "alerts") return;
      ++alert_events_;
      alert_values_.emplace_back(value);
    };
    const PartitionLag lag[] = {{0, 0}};
    telemetry_->on_tick(emit, lag, 0, 0.0);
  }

  int percentage() { return catalog_.get(kFlag)->percentage; }

  // The counter's child with label `code` (any child when empty).
  double counter(std::string_view name, std::string_view code = {}) {
    for (const auto& family : prometheus_->Collect()) {
      if (family.name != name) continue;
      for (const auto& metric : family.metric) {
        if (code.empty()) return metric.counter.value;
        for (const auto& label : metric.label) {
          if (label.name == "code" && label.value == code) return metric.counter.value;
        }
      }
    }
    return -1;
  }

  void set_percentage(int pct) {
    flags::ChangeRequest r;
    r.kind = flags::ChangeKind::update;
    r.name = std::string(kFlag);
    r.fields.percentage = static_cast<std::uint8_t>(pct);
    r.fields.revision = catalog_.get(kFlag)->revision;
    r.actor = "operator";
    ASSERT_EQ(catalog_.change(r).status, flags::ChangeStatus::applied);
  }

  Logger log_;
  FlakyStore store_;
  flags::FlagRegistry registry_;
  std::shared_ptr<prometheus::Registry> prometheus_;
  metrics::ProcessorMetrics metrics_;
  flags::FlagCatalog catalog_;
  rollout::RolloutController controller_;
  std::optional<EventRouter> router_;
  std::optional<Telemetry> telemetry_;
  int next_user_ = 0;
  int alert_events_ = 0;
  std::vector<std::string> alert_values_;
};

TEST_F(TelemetryTest, AutoRollbackIsRetriedUntilDurableAndCountsEachFailure) {
  tick();
  store_.failures = 2;
  feed(30, true);
  tick();  // critical error rate: the first two writes are refused, the third lands
  ASSERT_TRUE(reaches(0)) << "a rollback is retried until it is durable";
  EXPECT_EQ(store_.refused, 2);
  EXPECT_EQ(counter("patchstream_auto_rollback_failures_total"), 2);
  const auto history = catalog_.history(kFlag);
  ASSERT_TRUE(history.has_value());
  const auto& last = history->back();
  EXPECT_EQ(last.by, "auto-rollback");
  EXPECT_NE(last.reason.find("PatchstreamErrorRateHigh"), std::string::npos) << last.reason;
  EXPECT_NE(last.reason.find("on 30 pipeline samples"), std::string::npos) << last.reason;
}

TEST_F(TelemetryTest, AlertFiringOnPreChangeSamplesDoesNotRollBackAResumedRollout) {
  tick();
  feed(30, true);
  tick();
  ASSERT_TRUE(reaches(0));
  tick();  // the instance routes by 0 %

  // The operator resumes; the incident's failures are still inside the 60 s window and the
  // critical alert is still firing (and resent every second).
  set_percentage(100);
  for (int i = 0; i < 12; ++i) {
    feed(1, false);  // healthy post-change traffic, below min_samples for the first ticks
    tick();
    std::this_thread::sleep_for(120ms);
    ASSERT_EQ(percentage(), 100) << "rolled back on pre-change evidence at tick " << i;
  }
  EXPECT_GT(alert_events_, 1) << "the firing alert was resent meanwhile";

  // New failing evidence after the change does roll back.
  feed(40, true);
  tick();
  EXPECT_TRUE(reaches(0));
}

// Issue 13.6: a guard that fails through a planted executor bug is reported in the result, counted
// and alerted on — and, being a critical pipeline alert, rolls the flag back.
TEST_F(TelemetryTest, FailedGuardIsCountedAndAlerted) {
  auto layers = default_layers();
  layers.execute = [](std::span<const std::string_view> snapshot, std::span<const Patch> patches,
                      std::span<const std::string_view> patch_lines,
                      std::vector<std::string_view>& out) {
    execute(snapshot, patches, patch_lines, out);
    out.push_back("a line no patch asked for");
  };
  router_.emplace(settings(), registry_, layers);
  tick();
  feed(12, false);
  EXPECT_EQ(counter("patchstream_violations_total", "snapshot_size_changed"), 12);
  tick();
  const bool alerted =
      std::any_of(alert_values_.begin(), alert_values_.end(), [](const std::string& v) {
        return v.find("PatchstreamInvariantViolations") != std::string::npos &&
               v.find("critical") != std::string::npos;
      });
  EXPECT_TRUE(alerted);
  EXPECT_TRUE(reaches(0));
}

}  // namespace
}  // namespace patchstream
