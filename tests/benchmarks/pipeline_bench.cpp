// End-to-end pipeline benchmarks (decode → validate → execute → write) against simdjson alone.
#include <benchmark/benchmark.h>
#include <simdjson.h>

#include <random>
#include <string>

#include "pipeline/applier.h"
#include "pipeline/decoder.h"
#include "pipeline/result_writer.h"

namespace {

// `patches` disjoint patches (a mix of the three ops) spread over `lines` snapshot lines.
std::string make_event(std::size_t lines, std::size_t patches) {
  std::mt19937_64 rng(1);
  std::string e =
      R"({"batch_id":"b-000123","user_id":"u-42","document_id":"doc-7","base_revision":3,"snapshot":[)";
  for (std::size_t i = 0; i < lines; ++i) {
    if (i) e += ',';
    e += "\"line " + std::to_string(i + 1) + ": the quick brown fox jumps over the lazy dog\"";
  }
  e += R"(],"patches":[)";
  const std::size_t stride = lines / patches;
  for (std::size_t p = 0; p < patches; ++p) {
    const std::size_t line = lines - p * stride;  // producers usually send them descending
    if (p) e += ',';
    switch (rng() % 3) {
      case 0:
        e += R"({"op":"insert","line":)" + std::to_string(line) +
             R"(,"lines":["inserted text for the new line"]})";
        break;
      case 1:
        e += R"({"op":"replace","line":)" + std::to_string(line) +
             R"(,"lines":["replaced \"text\"","second line"]})";
        break;
      default:
        e += R"({"op":"delete","line":)" + std::to_string(line) + "}";
    }
  }
  return e + "]}";
}

const std::string& large_event() {
  static const std::string e = make_event(5000, 500);
  return e;
}
const std::string& small_event() {
  static const std::string e = make_event(50, 10);
  return e;
}

void end_to_end(benchmark::State& state, const std::string& event) {
  patchstream::Decoder decoder({});
  patchstream::BatchApplier applier({});
  std::string out;
  out.reserve(event.size() * 2);
  for (auto _ : state) {
    out.clear();
    if (decoder.decode(event) != patchstream::DecodeStatus::decoded) state.SkipWithError("decode");
    const patchstream::Result r = applier.apply(decoder.batch(), decoder.violations(), nullptr);
    if (!r.applied) state.SkipWithError("not applied");
    patchstream::write_result(r, nullptr, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * event.size()));
  state.counters["event_bytes"] = static_cast<double>(event.size());
}

// The floor: simdjson's DOM parser validating and building the whole document.
void simdjson_dom(benchmark::State& state, const std::string& event) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(event);
  for (auto _ : state) {
    simdjson::dom::element doc;
    if (parser.parse(padded).get(doc)) state.SkipWithError("parse");
    benchmark::DoNotOptimize(doc);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * event.size()));
}

// The same floor with on-demand: copy into a padded buffer and read every string once.
void simdjson_ondemand_read_all(benchmark::State& state, const std::string& event) {
  simdjson::ondemand::parser parser;
  std::string buffer;
  for (auto _ : state) {
    buffer.assign(event);
    buffer.append(simdjson::SIMDJSON_PADDING, '\0');
    simdjson::ondemand::document doc;
    if (parser.iterate(buffer.data(), event.size(), buffer.size()).get(doc))
      state.SkipWithError("iterate");
    std::size_t total = 0;
    for (auto field : doc.get_object()) {
      std::string_view key = field.unescaped_key();
      if (key == "snapshot") {
        for (auto s : field.value().get_array())
          total += std::string_view(s.get_string()).size();
      } else if (key == "patches") {
        for (auto p : field.value().get_array()) {
          for (auto pf : p.get_object()) {
            std::string_view k = pf.unescaped_key();
            if (k == "lines") {
              for (auto s : pf.value().get_array())
                total += std::string_view(s.get_string()).size();
            } else if (k == "op") {
              total += std::string_view(pf.value().get_string()).size();
            } else {
              total += uint64_t(pf.value().get_uint64());
            }
          }
        }
      } else if (key == "base_revision") {
        total += uint64_t(field.value().get_int64());
      } else {
        total += std::string_view(field.value().get_string()).size();
      }
    }
    benchmark::DoNotOptimize(total);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * event.size()));
}

BENCHMARK_CAPTURE(end_to_end, large_500_patches_5000_lines, large_event());
BENCHMARK_CAPTURE(simdjson_dom, large_500_patches_5000_lines, large_event());
BENCHMARK_CAPTURE(simdjson_ondemand_read_all, large_500_patches_5000_lines, large_event());
BENCHMARK_CAPTURE(end_to_end, small_10_patches_50_lines, small_event());
BENCHMARK_CAPTURE(simdjson_dom, small_10_patches_50_lines, small_event());
BENCHMARK_CAPTURE(simdjson_ondemand_read_all, small_10_patches_50_lines, small_event());

}  // namespace

BENCHMARK_MAIN();
