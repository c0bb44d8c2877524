// Per-event routing (SPEC §2): decode → flag decision → pipeline result | legacy copy | dead
// letter, each as one output record with CloudEvents headers. Pure: no Kafka calls, buffers reused.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "flags/flag_registry.h"
#include "kafka/records.h"
#include "pipeline/applier.h"
#include "pipeline/decoder.h"

namespace patchstream {

struct InputEvent {
  std::string_view topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::optional<std::string_view> key;  // nullopt: a null key
  std::string_view value;
  std::span<const kafka::HeaderView> headers;
};

enum class Outcome : std::uint8_t { applied, rejected, legacy, dead_letter };

// A view of what to produce for one input; valid until the next route().
struct OutputRecord {
  Outcome outcome = Outcome::dead_letter;
  std::string_view topic;
  std::optional<std::string_view> key;
  std::string_view value;
  std::span<const kafka::HeaderView> headers;
  const Result* result = nullptr;             // applied / rejected
  const flags::Decision* decision = nullptr;  // applied / rejected / legacy
  std::string_view dead_letter_reason;        // dead_letter
  std::size_t patches = 0;                    // applied / rejected
};

struct RouterSettings {
  std::string instance_id;
  std::string flag;
  std::string results_topic, legacy_topic, dead_letter_topic;
  Limits limits;
  // Largest output record, key + value + headers: larger results and legacy copies become dead
  // letters, and a dead letter is cut to fit.
  std::size_t max_output_bytes = 1'000'000;
};

class EventRouter {
 public:
  // `layers`: the pipeline's own, unless a test plants a faulty one under the guards.
  EventRouter(RouterSettings settings, const flags::FlagRegistry& registry,
              PipelineLayers layers = default_layers());

  const OutputRecord& route(const InputEvent& in);

 private:
  void set_output(Outcome outcome, std::string_view topic, std::optional<std::string_view> key,
                  std::string_view value);
  void add_cloud_events(std::string_view type, const InputEvent& in);
  const OutputRecord& dead_letter(const InputEvent& in, std::string_view code,
                                  std::string_view message);

  RouterSettings settings_;
  flags::FlagReader flags_;
  Decoder decoder_;
  BatchApplier applier_;
  flags::Decision decision_;
  Result result_;
  std::string source_;  // ce_source
  std::string value_, ce_id_, ce_time_, numbers_;
  std::string partition_text_, offset_text_, bucket_text_, percentage_text_;
  std::string truncated_, original_bytes_text_;
  std::vector<kafka::HeaderView> headers_;
  OutputRecord out_{};
};

}  // namespace patchstream
