// Result writer: always valid JSON, UTF-8 passed through, control characters escaped.
#include <gtest/gtest.h>

#include "pipeline/json_text.h"
#include "pipeline_harness.h"

namespace patchstream::testing {
namespace {

TEST(JsonText, EscapesWhatJsonRequires) {
  std::string out;
  append_json_string(out, std::string("a\"b\\c\n\r\t\b\f\x01\x1f\0z", 14));
  EXPECT_EQ(out, R"("a\"b\\c\n\r\t\b\f\u0001\u001f\u0000z")");
  out.clear();
  append_json_string(out, "h\xC3\xA9llo \xF0\x9F\x98\x80 /");
  EXPECT_EQ(out, "\"h\xC3\xA9llo \xF0\x9F\x98\x80 /\"");
}

TEST(ResultWriter, RoundTripsEveryByteValueOfValidStrings) {
  std::string line;
  for (int c = 1; c < 0x80; ++c)
    line.push_back(static_cast<char>(c));
  nlohmann::json ev{{"batch_id", "b\"1"},
                    {"user_id", "u\\"},
                    {"document_id", "d\n"},
                    {"base_revision", 0},
                    {"snapshot", {line}},
                    {"patches", {{{"op", "insert"}, {"line", 1}, {"lines", {line + "\xC3\xA9"}}}}}};
  const Outcome o = run_event(ev.dump());
  ASSERT_EQ(o.result["status"], "applied");
  EXPECT_EQ(o.result["batch_id"], "b\"1");
  EXPECT_EQ(o.result["document_id"], "d\n");
  EXPECT_EQ(o.result["lines"][0], line + "\xC3\xA9");
  EXPECT_EQ(o.result["lines"][1], line);
}

TEST(ResultWriter, WritesTheFlagWhenOneRoutedTheEvent) {
  Decoder decoder({});
  BatchApplier applier({});
  ASSERT_EQ(decoder.decode(R"({"batch_id":"b","user_id":"u","document_id":"d","base_revision":1,)"
                           R"("snapshot":[],"patches":[{"op":"insert","line":1,"lines":["x"]}]})"),
            DecodeStatus::decoded);
  const Result r = applier.apply(decoder.batch(), decoder.violations(), nullptr);
  const FlagContext flag{"batch-patches-v1", 37, 50};
  std::string out;
  write_result(r, &flag, out);
  const auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["flag"],
            nlohmann::json::parse(R"({"name":"batch-patches-v1","bucket":37,"percentage":50})"));
  EXPECT_EQ(j["revision"], 2);
}

TEST(ResultWriter, OfflineDeadLetterRecord) {
  std::string out;
  write_offline_dead_letter(12, {DeadLetterCode::not_json, "bad \"thing\""}, out);
  EXPECT_EQ(nlohmann::json::parse(out),
            nlohmann::json::parse(R"({"line":12,"code":"not_json","message":"bad \"thing\""})"));
}

}  // namespace
}  // namespace patchstream::testing
