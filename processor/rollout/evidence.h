// A wave's evidence: what an instance saw of the pipeline since the rollout percentage last
// changed, published as a record so that the controller can sum every instance's (cluster-wide).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "alerting/latency_histogram.h"

namespace patchstream::rollout {

struct Evidence {
  std::uint64_t batches = 0, applied = 0, rejected = 0, failed = 0;  // pipeline route
  std::uint64_t guard_failures = 0;    // batches an internal invariant guard failed
  std::uint64_t dead_letters = 0;      // undecodable input, any route
  alerting::LatencyHistogram latency;  // pipeline batch latency, seconds

  void add(const Evidence& other) noexcept;
};

// One instance's evidence for one flag. It counts from the moment the instance first routed at
// `percentage` with flag revision `since_revision` (the change it saw, or its start): the samples
// are all later than that revision's write, whatever the instance's clock says.
struct EvidenceRecord {
  std::string instance;
  std::string flag;
  int percentage = 0;
  std::uint64_t since_revision = 0;
  std::int64_t at_ms = 0;  // when it was published
  Evidence evidence;
};

std::string evidence_json(const EvidenceRecord& record);
std::optional<EvidenceRecord> parse_evidence(std::string_view json);
// The record's Kafka key: one compacted record per instance and flag.
std::string evidence_key(std::string_view flag, std::string_view instance);

// The latest record of every instance; sums those that belong to a wave.
class EvidenceBoard {
 public:
  void update(EvidenceRecord record);
  // The sum of the records for `flag` at `percentage` counting from `since_revision` or later
  // (taken after the wave took effect); `instances` receives how many contributed. A stopped
  // instance's last record keeps counting: its samples stay valid.
  Evidence wave_evidence(std::string_view flag, int percentage, std::uint64_t since_revision,
                         std::size_t* instances = nullptr) const;

 private:
  std::map<std::string, EvidenceRecord> latest_;  // by evidence_key
};

}  // namespace patchstream::rollout
