// Test harness: runs one event through decoder → applier → writer and parses the result JSON.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "pipeline/applier.h"
#include "pipeline/decoder.h"
#include "pipeline/result_writer.h"

namespace patchstream::testing {

struct Outcome {
  DecodeStatus status;
  nlohmann::json result;  // the patch-result, when not a dead letter
  DeadLetter dead_letter;
};

inline Outcome run_event(std::string_view event, const Limits& limits = {},
                         const StoredDocument* stored = nullptr,
                         PipelineLayers layers = default_layers()) {
  Decoder decoder(limits);
  BatchApplier applier(limits, layers);
  Outcome outcome{decoder.decode(event), {}, {}};
  if (outcome.status == DecodeStatus::dead_letter) {
    outcome.dead_letter = decoder.dead_letter();
    return outcome;
  }
  const Result r = applier.apply(decoder.batch(), decoder.violations(), stored);
  std::string out;
  write_result(r, nullptr, out);
  outcome.result = nlohmann::json::parse(out);
  return outcome;
}

inline std::vector<std::string> codes(const nlohmann::json& result) {
  std::vector<std::string> out;
  for (const auto& v : result["violations"])
    out.push_back(v["code"]);
  return out;
}

}  // namespace patchstream::testing
