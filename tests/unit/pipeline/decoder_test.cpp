// Semantics layer: what decodes, what is rejected as invalid_batch, what is dead-lettered.
#include <gtest/gtest.h>

#include "pipeline_harness.h"

namespace patchstream::testing {
namespace {

std::string event(std::string_view patches, std::string_view extra = "",
                  std::string_view snapshot = R"(["a","b","c"])") {
  std::string e = R"({"batch_id":"b1","user_id":"u1","document_id":"d1","base_revision":3,)";
  if (!snapshot.empty()) e += std::string(R"("snapshot":)") + std::string(snapshot) + ",";
  e += std::string(extra);
  e += R"("patches":)" + std::string(patches) + "}";
  return e;
}

void expect_invalid(std::string_view ev, std::string_view why) {
  const Outcome o = run_event(ev);
  ASSERT_EQ(o.status, DecodeStatus::malformed) << why << ": " << ev;
  EXPECT_EQ(o.result["status"], "rejected");
  bool found = false;
  for (const auto& v : o.result["violations"])
    found |= v["code"] == "invalid_batch";
  EXPECT_TRUE(found) << why << ": " << o.result.dump();
}

void expect_dead(std::string_view ev, DeadLetterCode code) {
  const Outcome o = run_event(ev);
  ASSERT_EQ(o.status, DecodeStatus::dead_letter) << ev;
  EXPECT_EQ(o.dead_letter.code, code) << ev << " → " << o.dead_letter.message;
  EXPECT_FALSE(o.dead_letter.message.empty());
}

TEST(Decoder, DecodesAValidBatchWithViewsIntoItsBuffers) {
  Decoder decoder({});
  const std::string ev = event(R"([{"op":"replace","line":2,"end":3,"lines":["X","Y"]},
                                   {"op":"insert","line":1,"lines":["Z"]},{"op":"delete","line":1}])");
  ASSERT_EQ(decoder.decode(ev), DecodeStatus::decoded);
  const Batch& b = decoder.batch();
  EXPECT_EQ(b.batch_id, "b1");
  EXPECT_EQ(b.user_id, "u1");
  EXPECT_EQ(b.document_id, "d1");
  EXPECT_EQ(b.base_revision, 3);
  ASSERT_EQ(b.snapshot.size(), 3u);
  ASSERT_EQ(b.patches.size(), 3u);
  EXPECT_EQ(b.patches[0].op, Op::replace);
  EXPECT_EQ(b.patches[0].end, 3u);
  EXPECT_EQ(b.patches[1].op, Op::insert);
  EXPECT_EQ(b.patches[1].end, 1u);  // an insert touches only its line
  EXPECT_EQ(b.patches[2].op, Op::erase);
  EXPECT_EQ(b.patch_lines[b.patches[0].lines_begin + 1], "Y");
}

TEST(Decoder, FieldOrderDoesNotMatter) {
  const Outcome o = run_event(
      R"({"patches":[{"lines":["x"],"line":1,"op":"insert"}],"snapshot":[],"base_revision":0,)"
      R"("document_id":"d","user_id":"u","batch_id":"b"})");
  ASSERT_EQ(o.status, DecodeStatus::decoded);
  EXPECT_EQ(o.result["lines"], nlohmann::json::array({"x"}));
}

TEST(Decoder, UnescapesStrings) {
  const Outcome o =
      run_event(event(R"([{"op":"replace","line":1,"lines":["q\"\\\n\u00e9\ud83d\ude00"]}])"));
  ASSERT_EQ(o.status, DecodeStatus::decoded);
  EXPECT_EQ(o.result["lines"][0], "q\"\\\n\xC3\xA9\xF0\x9F\x98\x80");
}

TEST(Decoder, DeadLettersInputWithoutReadableIdentity) {
  expect_dead("", DeadLetterCode::not_json);
  expect_dead("not json", DeadLetterCode::not_json);
  expect_dead(R"({"batch_id":"b1")", DeadLetterCode::not_json);
  expect_dead(R"({"batch_id":"b1"} {})", DeadLetterCode::not_json);
  expect_dead(std::string("{\"batch_id\":\"b\0\"}", 17), DeadLetterCode::not_json);
  expect_dead(std::string(2000, '[') + std::string(2000, ']'), DeadLetterCode::not_json);
  expect_dead("[1,2]", DeadLetterCode::not_an_object);
  expect_dead("42", DeadLetterCode::not_an_object);
  expect_dead(R"({"user_id":"u","document_id":"d","patches":[]})",
              DeadLetterCode::invalid_identity);
  expect_dead(R"({"batch_id":7,"user_id":"u","document_id":"d","patches":[]})",
              DeadLetterCode::invalid_identity);
  expect_dead(R"({"batch_id":"","user_id":"u","document_id":"d","patches":[]})",
              DeadLetterCode::invalid_identity);
  expect_dead(R"({"batch_id":"a","batch_id":"b","user_id":"u","document_id":"d","patches":[]})",
              DeadLetterCode::invalid_identity);
  expect_dead("{\"batch_id\":\"b\xff\",\"user_id\":\"u\",\"document_id\":\"d\",\"patches\":[]}",
              DeadLetterCode::invalid_identity);
}

TEST(Decoder, DeadLettersEventsOverTheSizeLimitBeforeParsing) {
  Limits limits;
  limits.max_event_bytes = 64;
  Decoder decoder(limits);
  ASSERT_EQ(decoder.decode(event(R"([{"op":"delete","line":1}])")), DecodeStatus::dead_letter);
  EXPECT_EQ(decoder.dead_letter().code, DeadLetterCode::too_large);
}

TEST(Decoder, RejectsMalformedContentAsInvalidBatch) {
  expect_invalid(event(R"([{"op":"zap","line":1}])"), "unknown op");
  expect_invalid(event(R"([{"op":"insert","line":1}])"), "insert without lines");
  expect_invalid(event(R"([{"op":"replace","line":1,"lines":[]}])"), "empty lines");
  expect_invalid(event(R"([{"op":"replace","line":1,"lines":[1]}])"), "line not a string");
  expect_invalid(event(R"([{"op":"delete","line":0}])"), "line zero");
  expect_invalid(event(R"([{"op":"delete","line":-1}])"), "negative line");
  expect_invalid(event(R"([{"op":"delete","line":1.5}])"), "fractional line");
  expect_invalid(event(R"([{"op":"delete","line":"1"}])"), "line as string");
  expect_invalid(event(R"([{"op":"delete","line":1e400}])"), "huge line");
  expect_invalid(event(R"([{"op":"delete","line":99999999999999999999999}])"), "bigint line");
  expect_invalid(event(R"([{"op":"delete"}])"), "missing line");
  expect_invalid(event(R"([{"line":1}])"), "missing op");
  expect_invalid(event(R"([{"op":"delete","line":1,"lines":["x"]}])"), "lines on delete");
  expect_invalid(event(R"([{"op":"insert","line":1,"end":1,"lines":["x"]}])"), "end on insert");
  expect_invalid(event(R"([{"op":"delete","line":1,"colour":"red"}])"), "unknown patch key");
  expect_invalid(event(R"([{"op":"delete","line":1,"line":2}])"), "duplicate patch key");
  expect_invalid(event(R"(["delete"])"), "patch not an object");
  expect_invalid(event(R"({"op":"delete"})"), "patches not an array");
  expect_invalid(event(R"([])", R"("extra":1,)"), "unknown top-level key");
  expect_invalid(event(R"([])", "", R"("abc")"), "snapshot not an array");
  expect_invalid(event(R"([])", "", R"(["a",null])"), "snapshot line not a string");
  expect_invalid(event(R"([{"op":"replace","line":1,"lines":["\ud800"]}])"), "lone surrogate");
  expect_invalid(R"({"batch_id":"b","user_id":"u","document_id":"d","snapshot":[],"patches":[]})",
                 "missing base_revision");
  expect_invalid(R"({"batch_id":"b","user_id":"u","document_id":"d","base_revision":-1,)"
                 R"("snapshot":[],"patches":[]})",
                 "negative base_revision");
  expect_invalid(
      R"({"batch_id":"b","user_id":"u","document_id":"d","base_revision":0,"snapshot":[]})",
      "missing patches");
  expect_invalid(
      "{\"batch_id\":\"b\",\"user_id\":\"u\",\"document_id\":\"d\",\"base_revision\":0,"
      "\"snapshot\":[\"ok\",\"bad \xc3\x28\"],\"patches\":[]}",
      "invalid UTF-8 in a line");
}

TEST(Decoder, ReportsEveryMalformedPatchWithItsIndex) {
  const Outcome o = run_event(event(R"([{"op":"delete","line":1},{"op":"zap","line":2},
                                        {"op":"delete","line":3},{"op":"insert","line":0}])"));
  ASSERT_EQ(o.status, DecodeStatus::malformed);
  std::vector<int> patches;
  for (const auto& v : o.result["violations"])
    patches.push_back(v["patch"]);
  EXPECT_EQ(patches, (std::vector<int>{1, 3, 3}));  // unknown op; line 0 and missing lines
}

TEST(Decoder, LimitsGiveTooLargeWithoutStoringTheExcess) {
  Limits limits;
  limits.max_patches = 2;
  limits.max_snapshot_lines = 2;
  limits.max_line_bytes = 4;
  Decoder decoder(limits);
  ASSERT_EQ(decoder.decode(event(R"([{"op":"delete","line":1},{"op":"delete","line":2},
                                     {"op":"delete","line":3}])")),
            DecodeStatus::malformed);
  EXPECT_EQ(decoder.batch().patches.size(), 2u);
  EXPECT_EQ(decoder.batch().snapshot.size(), 2u);
  EXPECT_EQ(decoder.violations()[0].code, ViolationCode::too_large);

  const Outcome o =
      run_event(event(R"([{"op":"replace","line":1,"lines":["12345"]}])", "", "[]"), limits);
  EXPECT_EQ(codes(o.result), std::vector<std::string>{"too_large"});
}

TEST(Decoder, ReusesItsBuffersAcrossEvents) {
  Decoder decoder({});
  const std::string big = event(R"([{"op":"delete","line":1}])", "", R"(["a","b","c","d","e"])");
  ASSERT_EQ(decoder.decode(big), DecodeStatus::decoded);
  ASSERT_EQ(decoder.decode("nope"), DecodeStatus::dead_letter);
  ASSERT_EQ(decoder.decode(event(R"([{"op":"delete","line":2}])")), DecodeStatus::decoded);
  EXPECT_EQ(decoder.batch().snapshot.size(), 3u);
  EXPECT_EQ(decoder.batch().patches.size(), 1u);
}

}  // namespace
}  // namespace patchstream::testing
