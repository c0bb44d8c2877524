// The alert router's logic without a broker or an Alertmanager: backoff, batching, the pre-check,
// retries and the bisection that isolates a refused record, against fake senders.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "alert_router/alert_batch.h"
#include "alert_router/alertmanager_client.h"
#include "alert_router/backoff.h"
#include "alert_router/delivery.h"
#include "alert_router/delivery_worker.h"

#include <thread>

namespace patchstream::alert_router {
namespace {

using namespace std::chrono_literals;

// "A<n>", appended: GCC 12 -O3 reports a false -Wrestrict for "A" + std::to_string(n).
std::string alert_name(int n) {
  std::string name = "A";
  name += std::to_string(n);
  return name;
}

std::string alert(int n, bool bad = false) {
  nlohmann::json j = {{"labels", {{"alertname", alert_name(n)}}}};
  if (bad) j["bad"] = true;
  return j.dump();
}

// An Alertmanager double: unavailable for the first `down_for` requests, then refuses (400) any
// body holding an alert marked "bad" and accepts the rest; remembers every accepted alert name.
class FakeSender : public AlertSender {
 public:
  explicit FakeSender(std::string name, int down_for = 0)
      : name_(std::move(name)), down_for_(down_for) {}
  const std::string& name() const override { return name_; }
  SendOutcome post_alerts(std::string_view body) override {
    ++requests;
    bodies.emplace_back(body);
    if (down_for_ > 0) {
      --down_for_;
      return {SendStatus::unavailable, 0, "connection refused"};
    }
    const auto alerts = nlohmann::json::parse(body);
    for (const auto& a : alerts)
      if (a.contains("bad")) return {SendStatus::refused, 400, "bad alert"};
    for (const auto& a : alerts)
      accepted.push_back(a["labels"]["alertname"]);
    return {SendStatus::accepted, 200, ""};
  }

  int requests = 0;
  std::vector<std::string> bodies;
  std::vector<std::string> accepted;

 private:
  std::string name_;
  int down_for_;
};

AlertBatch batch_of(std::vector<std::string> values, std::size_t max_events = 64) {
  AlertBatch b("alerts", max_events, 1 << 20);
  for (std::size_t i = 0; i < values.size(); ++i)
    EXPECT_TRUE(b.add(0, static_cast<std::int64_t>(i), -1, values[i]));
  return b;
}

struct Waits {
  std::vector<std::chrono::milliseconds> seen;
  int allow = 1000;  // waits granted before "stopping"
  DeliveryHooks hooks() {
    DeliveryHooks h;
    h.wait = [this](std::chrono::milliseconds w) {
      seen.push_back(w);
      return allow-- > 0;
    };
    return h;
  }
};

std::vector<std::string> names(int from, int to) {
  std::vector<std::string> out;
  for (int i = from; i < to; ++i)
    out.push_back(alert_name(i));
  return out;
}

TEST(Backoff, DoublesUpToTheCapAndResets) {
  Backoff b(100ms, 1000ms);
  std::vector<long> seen;
  for (int i = 0; i < 7; ++i)
    seen.push_back(b.next().count());
  EXPECT_EQ(seen, (std::vector<long>{100, 200, 400, 800, 1000, 1000, 1000}));
  b.reset();
  EXPECT_EQ(b.next(), 100ms);
}

TEST(Backoff, CapBelowTheFirstDoubling) {
  Backoff b(300ms, 500ms);
  EXPECT_EQ(b.next(), 300ms);
  EXPECT_EQ(b.next(), 500ms);
  EXPECT_EQ(b.next(), 500ms);
}

TEST(CheckAlertValue, OnlyOneJsonObjectPasses) {
  EXPECT_EQ(check_alert_value(alert(1), 1024), std::nullopt);
  EXPECT_EQ(check_alert_value(" {\"labels\":{}} ", 1024), std::nullopt);
  EXPECT_EQ(check_alert_value("", 1024), SkipReason::not_json_object);
  EXPECT_EQ(check_alert_value("  ", 1024), SkipReason::not_json_object);
  EXPECT_EQ(check_alert_value("[{\"labels\":{}}]", 1024), SkipReason::not_json_object);
  EXPECT_EQ(check_alert_value("42", 1024), SkipReason::not_json_object);
  // A fragment that would otherwise swallow its neighbour: [{"a":"  ,  "}] is valid JSON.
  EXPECT_EQ(check_alert_value(R"({"a":")", 1024), SkipReason::not_json_object);
  EXPECT_EQ(check_alert_value(R"({"a":1},{"b":2})", 1024), SkipReason::not_json_object);
  EXPECT_EQ(check_alert_value(std::string(2000, ' ') + "{}", 1024), SkipReason::too_large);
}

TEST(AlertBatch, BoundedByEventsAndBytes) {
  AlertBatch by_events("alerts", 2, 1 << 20);
  EXPECT_TRUE(by_events.add(0, 0, -1, alert(0)));
  EXPECT_TRUE(by_events.add(0, 1, -1, alert(1)));
  EXPECT_TRUE(by_events.full());
  EXPECT_FALSE(by_events.add(0, 2, -1, alert(2)));
  EXPECT_EQ(by_events.size(), 2u);

  const std::string a = alert(0);
  AlertBatch by_bytes("alerts", 64, 2 + 2 * (a.size() + 1));
  EXPECT_TRUE(by_bytes.add(0, 0, -1, a));
  EXPECT_TRUE(by_bytes.add(0, 1, -1, a));
  EXPECT_FALSE(by_bytes.add(0, 2, -1, a));
  EXPECT_LE(by_bytes.body(by_bytes.sendable()).size(), 2 + 2 * (a.size() + 1));
  // A skipped record costs a slot, no bytes: it is never sent.
  EXPECT_TRUE(by_bytes.add(0, 2, -1, "not json"));
  EXPECT_EQ(by_bytes.sendable().size(), 2u);
}

TEST(AlertBatch, BodyIsTheJsonArrayOfTheValues) {
  auto b = batch_of({alert(0), alert(1), "oops", alert(3)});
  const auto idx = b.sendable();
  EXPECT_EQ(idx, (std::vector<std::size_t>{0, 1, 3}));
  const auto body = nlohmann::json::parse(b.body(idx));
  ASSERT_EQ(body.size(), 3u);
  EXPECT_EQ(body[2]["labels"]["alertname"], "A3");
}

TEST(AlertBatch, NextOffsetsPerPartitionAndRevocation) {
  AlertBatch b("alerts", 64, 1 << 20);
  ASSERT_TRUE(b.add(0, 10, -1, alert(0)));
  ASSERT_TRUE(b.add(1, 5, -1, alert(1)));
  ASSERT_TRUE(b.add(0, 11, -1, alert(2)));
  EXPECT_EQ(b.next_offsets(), (kafka::PartitionOffsets{{"alerts", 0, 12}, {"alerts", 1, 6}}));
  b.drop_partition(0);
  EXPECT_EQ(b.next_offsets(), (kafka::PartitionOffsets{{"alerts", 1, 6}}));
  EXPECT_EQ(b.size(), 1u);
}

TEST(ClassifyHttpStatus, RetriableOrNot) {
  EXPECT_EQ(classify_http_status(200), SendStatus::accepted);
  EXPECT_EQ(classify_http_status(204), SendStatus::accepted);
  EXPECT_EQ(classify_http_status(400), SendStatus::refused);
  EXPECT_EQ(classify_http_status(422), SendStatus::refused);
  EXPECT_EQ(classify_http_status(413), SendStatus::refused);
  // Not about the records: a wrong URL or a proxy refusing us must not skip every alert.
  EXPECT_EQ(classify_http_status(404), SendStatus::unavailable);
  EXPECT_EQ(classify_http_status(401), SendStatus::unavailable);
  EXPECT_EQ(classify_http_status(403), SendStatus::unavailable);
  EXPECT_EQ(classify_http_status(405), SendStatus::unavailable);
  EXPECT_EQ(classify_http_status(415), SendStatus::unavailable);
  EXPECT_EQ(classify_http_status(408), SendStatus::unavailable);
  EXPECT_EQ(classify_http_status(429), SendStatus::unavailable);
  EXPECT_EQ(classify_http_status(500), SendStatus::unavailable);
  EXPECT_EQ(classify_http_status(503), SendStatus::unavailable);
  EXPECT_EQ(classify_http_status(302), SendStatus::unavailable);
}

TEST(DeliverBatch, OneRequestPerAlertmanagerWhenAllAccept) {
  FakeSender a("a"), b("b");
  AlertSender* senders[] = {&a, &b};
  Waits waits;
  const auto report = deliver_batch(batch_of({alert(0), alert(1), alert(2)}), senders,
                                    Backoff(100ms, 1s), waits.hooks());
  EXPECT_TRUE(report.complete);
  EXPECT_EQ(report.delivered, 3u);
  EXPECT_EQ(report.retries, 0u);
  EXPECT_EQ(a.requests, 1);
  EXPECT_EQ(b.requests, 1);
  EXPECT_EQ(a.accepted, names(0, 3));
  EXPECT_EQ(b.accepted, names(0, 3));
  EXPECT_TRUE(waits.seen.empty());
}

TEST(DeliverBatch, RetriesOnlyTheUnavailableAlertmanagerWithGrowingBackoff) {
  FakeSender up("up"), down("down", 3);
  AlertSender* senders[] = {&up, &down};
  Waits waits;
  std::vector<bool> blocked;
  auto hooks = waits.hooks();
  hooks.on_blocked = [&](bool b) { blocked.push_back(b); };
  const auto report =
      deliver_batch(batch_of({alert(0), alert(1)}), senders, Backoff(100ms, 250ms), hooks);
  EXPECT_TRUE(report.complete);
  EXPECT_EQ(report.retries, 3u);
  EXPECT_EQ(waits.seen, (std::vector<std::chrono::milliseconds>{100ms, 200ms, 250ms}));
  EXPECT_EQ(up.requests, 1);  // took it the first time: not sent again
  EXPECT_EQ(down.requests, 4);
  EXPECT_EQ(down.accepted, names(0, 2));
  EXPECT_EQ(blocked, (std::vector<bool>{true, true, true, false}));
}

TEST(DeliverBatch, StopWhileUnavailableLeavesTheBatchIncomplete) {
  FakeSender down("down", 1000);
  AlertSender* senders[] = {&down};
  Waits waits;
  waits.allow = 2;
  const auto report =
      deliver_batch(batch_of({alert(0)}), senders, Backoff(100ms, 1s), waits.hooks());
  EXPECT_FALSE(report.complete);
  EXPECT_EQ(report.delivered, 0u);
  EXPECT_TRUE(report.skipped.empty());
  EXPECT_EQ(down.requests, 3);
}

TEST(DeliverBatch, BisectionIsolatesTheRefusedRecordAndDeliversTheRest) {
  FakeSender am("am");
  AlertSender* senders[] = {&am};
  std::vector<std::string> values;
  for (int i = 0; i < 16; ++i)
    values.push_back(alert(i, i == 11));
  Waits waits;
  const auto report = deliver_batch(batch_of(values), senders, Backoff(100ms, 1s), waits.hooks());
  EXPECT_TRUE(report.complete);
  ASSERT_EQ(report.skipped.size(), 1u);
  EXPECT_EQ(report.skipped[0].index, 11u);
  EXPECT_EQ(report.skipped[0].reason, SkipReason::refused);
  EXPECT_EQ(report.skipped[0].http_status, 400u);
  EXPECT_EQ(report.skipped[0].alertmanager, "am");
  EXPECT_EQ(report.skipped[0].detail, "bad alert");
  EXPECT_EQ(report.delivered, 15u);
  auto expected = names(0, 16);
  expected.erase(expected.begin() + 11);
  EXPECT_EQ(am.accepted, expected);  // in record order
  // 1 + 2 per level of a 16-record bisection: log2(16) = 4 levels.
  EXPECT_EQ(am.requests, 9);
  EXPECT_TRUE(waits.seen.empty());  // a refusal is not retried
}

TEST(DeliverBatch, SeveralRefusalsAndPreCheckSkipsAreReportedInOrder) {
  FakeSender a("a"), b("b");
  AlertSender* senders[] = {&a, &b};
  Waits waits;
  const auto report =
      deliver_batch(batch_of({alert(0, true), "garbage", alert(2), alert(3, true), alert(4)}),
                    senders, Backoff(100ms, 1s), waits.hooks());
  EXPECT_TRUE(report.complete);
  ASSERT_EQ(report.skipped.size(), 3u);
  EXPECT_EQ(report.skipped[0].index, 0u);
  EXPECT_EQ(report.skipped[0].reason, SkipReason::refused);
  EXPECT_EQ(report.skipped[0].alertmanager, "a");  // the first to refuse it
  EXPECT_EQ(report.skipped[1].index, 1u);
  EXPECT_EQ(report.skipped[1].reason, SkipReason::not_json_object);
  EXPECT_EQ(report.skipped[2].index, 3u);
  EXPECT_EQ(report.delivered, 2u);
  EXPECT_EQ(a.accepted, (std::vector<std::string>{"A2", "A4"}));
  EXPECT_EQ(b.accepted, (std::vector<std::string>{"A2", "A4"}));
  for (const auto& body : a.bodies)
    EXPECT_EQ(body.find("garbage"), std::string::npos);
}

TEST(DeliverBatch, OutageDuringBisectionResumesWhereItStopped) {
  // Refuses the whole, then goes down once: the halves already split are retried, not the whole.
  class Flaky : public FakeSender {
   public:
    using FakeSender::FakeSender;
    SendOutcome post_alerts(std::string_view body) override {
      if (requests == 1 && !tripped_) {
        tripped_ = true;
        ++requests;
        return {SendStatus::unavailable, 503, "restarting"};
      }
      return FakeSender::post_alerts(body);
    }

   private:
    bool tripped_ = false;
  };
  Flaky am("am");
  AlertSender* senders[] = {&am};
  Waits waits;
  const auto report = deliver_batch(batch_of({alert(0), alert(1, true), alert(2), alert(3)}),
                                    senders, Backoff(100ms, 1s), waits.hooks());
  EXPECT_TRUE(report.complete);
  EXPECT_EQ(report.retries, 1u);
  ASSERT_EQ(report.skipped.size(), 1u);
  EXPECT_EQ(report.skipped[0].index, 1u);
  EXPECT_EQ(am.accepted, (std::vector<std::string>{"A0", "A2", "A3"}));
}

TEST(DeliverBatch, EmptyAfterPreCheckSendsNothing) {
  FakeSender am("am");
  AlertSender* senders[] = {&am};
  Waits waits;
  const auto report =
      deliver_batch(batch_of({"", "nope"}), senders, Backoff(100ms, 1s), waits.hooks());
  EXPECT_TRUE(report.complete);
  EXPECT_EQ(report.delivered, 0u);
  EXPECT_EQ(report.skipped.size(), 2u);
  EXPECT_EQ(am.requests, 0);
}

// The handoff between the Kafka loop and the worker thread: submit, busy until the report is
// taken, readiness while an Alertmanager is down, and a stop that ends the retries.
TEST(DeliveryWorker, HandsBackReportsAndStopEndsRetries) {
  auto registry = std::make_shared<prometheus::Registry>();
  RouterMetrics metrics(registry, {"up", "down"});
  RouterHealth health;
  std::FILE* sink = std::tmpfile();
  Logger log(3, sink);
  std::atomic<bool> stop{false};
  std::vector<std::unique_ptr<AlertSender>> senders;
  senders.push_back(std::make_unique<FakeSender>("up"));
  auto down = std::make_unique<FakeSender>("down", 1'000'000);
  senders.push_back(std::move(down));
  DeliveryWorker worker(std::move(senders), 1ms, 5ms, metrics, health, log, stop);

  EXPECT_TRUE(worker.idle());
  worker.submit(batch_of({alert(0), alert(1)}));
  EXPECT_FALSE(worker.idle());
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!health.blocked.load() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(1ms);
  EXPECT_TRUE(health.blocked.load());
  EXPECT_FALSE(worker.take());  // still retrying "down"
  stop.store(true);
  std::optional<DeliveredBatch> done;
  while (!(done = worker.take()) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(1ms);
  ASSERT_TRUE(done);
  EXPECT_FALSE(done->report.complete);  // its offsets must stay uncommitted
  EXPECT_EQ(done->batch.size(), 2u);
  EXPECT_TRUE(worker.idle());
  std::fclose(sink);
}

TEST(AlertmanagerUrl, Parses) {
  auto u = parse_alertmanager_url("http://127.0.0.1:9093");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, "9093");
  EXPECT_EQ(u->path_prefix, "");
  u = parse_alertmanager_url("http://am.example/prefix/");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->port, "80");
  EXPECT_EQ(u->path_prefix, "/prefix");
  u = parse_alertmanager_url("http://[::1]:9093/");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "::1");
  for (const char* bad :
       {"https://am:9093", "am:9093", "http://", "http://:9093", "http://am:", "http://am:99999",
        "http://am:0", "http://user@am:9093", "http://am:9093/x?y"})
    EXPECT_FALSE(parse_alertmanager_url(bad)) << bad;
}

}  // namespace
}  // namespace patchstream::alert_router
