// EventRouter: one output record per input, and every record within processing.max_output_bytes.
#include "stream/event_router.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

namespace patchstream {
namespace {

std::shared_ptr<const flags::FlagSnapshot> flag_at(int percentage) {
  flags::FlagDefinition f;
  f.name = "batch-patches-v1";
  f.enabled = true;
  f.percentage = static_cast<std::uint8_t>(percentage);
  return std::make_shared<const flags::FlagSnapshot>(std::vector<flags::FlagDefinition>{f});
}

struct Routed {
  Outcome outcome;
  std::string topic, key, value;
  std::map<std::string, std::string> headers;
  std::size_t bytes = 0;  // key + value + headers, as the producer counts them
};

class EventRouterTest : public ::testing::Test {
 protected:
  Routed route(int percentage, std::string_view value, std::string_view key = "k",
               std::span<const kafka::HeaderView> headers = {}) {
    registry_.publish(flag_at(percentage));
    RouterSettings settings{"i1", "batch-patches-v1", "results", "legacy", "dlq", Limits{}, 4096};
    EventRouter router(settings, registry_);
    const OutputRecord& out = router.route({"in", 2, 41, key, value, headers});
    Routed r{out.outcome,
             std::string(out.topic),
             out.key ? std::string(*out.key) : "",
             std::string(out.value),
             {},
             0};
    r.bytes = r.key.size() + r.value.size();
    for (const auto& h : out.headers) {
      r.headers[std::string(h.key)] = std::string(h.value);
      r.bytes += h.key.size() + h.value.size();
    }
    return r;
  }

  static std::string batch(std::string_view snapshot_line) {
    return R"({"batch_id":"b1","user_id":"u1","document_id":"d1","base_revision":0,"snapshot":[")" +
           std::string(snapshot_line) + R"("],"patches":[{"op":"insert","line":1,"lines":["x"]}]})";
  }

  flags::FlagRegistry registry_;
};

TEST_F(EventRouterTest, RoutesByFlagWithCloudEventsHeaders) {
  const Routed applied = route(100, batch("a"));
  EXPECT_EQ(applied.outcome, Outcome::applied);
  EXPECT_EQ(applied.topic, "results");
  EXPECT_EQ(applied.key, "d1");
  EXPECT_EQ(applied.headers.at("ce_id"), "in/2/41");
  EXPECT_EQ(applied.headers.at("ce_type"), "patchstream.result.v1");

  const Routed legacy = route(0, batch("a"));
  EXPECT_EQ(legacy.outcome, Outcome::legacy);
  EXPECT_EQ(legacy.value, batch("a"));
  EXPECT_EQ(legacy.headers.at("patchstream-flag-percentage"), "0");

  const Routed dead = route(100, "not json");
  EXPECT_EQ(dead.outcome, Outcome::dead_letter);
  EXPECT_EQ(dead.value, "not json");
  EXPECT_EQ(dead.headers.at("patchstream.errors.code"), "not_json");
  EXPECT_EQ(dead.headers.at("patchstream.errors.offset"), "41");
  EXPECT_FALSE(dead.headers.contains("patchstream.errors.truncated"));
}

TEST_F(EventRouterTest, ResultOverTheOutputLimitIsADeadLetterThatFits) {
  const std::string input = batch(std::string(5000, 'y'));
  const Routed r = route(100, input);
  EXPECT_EQ(r.outcome, Outcome::dead_letter);
  EXPECT_EQ(r.headers.at("patchstream.errors.code"), "result_too_large");
  EXPECT_LE(r.bytes, 4096u);
  EXPECT_EQ(r.headers.at("patchstream.errors.truncated"), "value");
  EXPECT_EQ(input.substr(0, r.value.size()), r.value);
  EXPECT_EQ(r.headers.at("patchstream.errors.original_bytes"), std::to_string(1 + input.size()));
}

TEST_F(EventRouterTest, LegacyCopyOverTheOutputLimitIsADeadLetter) {
  // Regression: forwarded unchanged, it exceeded the producer's message size, and the aborted
  // transaction rewound onto the same event forever.
  const Routed r = route(0, batch(std::string(5000, 'y')));
  EXPECT_EQ(r.outcome, Outcome::dead_letter);
  EXPECT_EQ(r.headers.at("patchstream.errors.code"), "legacy_too_large");
  EXPECT_LE(r.bytes, 4096u);
}

TEST_F(EventRouterTest, UndecodableInputCutToFitNamesWhatWasCut) {
  const std::string key(2000, 'k');
  const std::string big_header(3000, 'h');
  const kafka::HeaderView headers[] = {{"trace", big_header}};
  const Routed r = route(100, std::string(100'000, 'z'), key, headers);
  EXPECT_EQ(r.outcome, Outcome::dead_letter);
  EXPECT_EQ(r.headers.at("patchstream.errors.code"), "not_json");
  EXPECT_LE(r.bytes, 4096u);
  EXPECT_EQ(r.headers.at("patchstream.errors.truncated"), "headers,key,value");
  EXPECT_FALSE(r.headers.contains("trace"));
  EXPECT_EQ(r.key, key.substr(0, 1024));
  EXPECT_EQ(r.headers.at("patchstream.errors.original_bytes"),
            std::to_string(key.size() + 100'000 + 5 + big_header.size()));
}

TEST_F(EventRouterTest, SmallOriginalHeadersTravelWithTheDeadLetter) {
  const kafka::HeaderView headers[] = {{"trace", "abc"}};
  const Routed r = route(100, "[1]", "k", headers);
  EXPECT_EQ(r.headers.at("patchstream.errors.code"), "not_an_object");
  EXPECT_EQ(r.headers.at("trace"), "abc");
  EXPECT_EQ(r.value, "[1]");
}

}  // namespace
}  // namespace patchstream
