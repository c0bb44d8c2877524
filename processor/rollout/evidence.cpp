// Evidence records as JSON (sparse latency buckets) and their cluster-wide sum.
#include "rollout/evidence.h"

#include <nlohmann/json.hpp>

namespace patchstream::rollout {

using alerting::LatencyHistogram;
using nlohmann::json;

void Evidence::add(const Evidence& other) noexcept {
  batches += other.batches;
  applied += other.applied;
  rejected += other.rejected;
  failed += other.failed;
  guard_failures += other.guard_failures;
  dead_letters += other.dead_letters;
  latency.add(other.latency);
}

std::string evidence_key(std::string_view flag, std::string_view instance) {
  return std::string(flag) + "/" + std::string(instance);
}

std::string evidence_json(const EvidenceRecord& r) {
  json buckets = json::array();
  for (int i = 0; i < LatencyHistogram::kBucketCount; ++i) {
    if (const auto n = r.evidence.latency.bucket(i)) buckets.push_back({i, n});
  }
  const Evidence& e = r.evidence;
  return json{{"instance", r.instance},
              {"flag", r.flag},
              {"percentage", r.percentage},
              {"since_revision", r.since_revision},
              {"at_ms", r.at_ms},
              {"pipeline",
               {{"batches", e.batches},
                {"applied", e.applied},
                {"rejected", e.rejected},
                {"failed", e.failed},
                {"guard_failures", e.guard_failures},
                {"latency_buckets", std::move(buckets)}}},
              {"dead_letters", e.dead_letters}}
      .dump();
}

std::optional<EvidenceRecord> parse_evidence(std::string_view text) {
  const json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  try {
    EvidenceRecord r;
    r.instance = j.at("instance").get<std::string>();
    r.flag = j.at("flag").get<std::string>();
    r.percentage = j.at("percentage").get<int>();
    r.since_revision = j.at("since_revision").get<std::uint64_t>();
    r.at_ms = j.at("at_ms").get<std::int64_t>();
    const json& p = j.at("pipeline");
    Evidence& e = r.evidence;
    e.batches = p.at("batches").get<std::uint64_t>();
    e.applied = p.at("applied").get<std::uint64_t>();
    e.rejected = p.at("rejected").get<std::uint64_t>();
    e.failed = p.at("failed").get<std::uint64_t>();
    e.guard_failures = p.at("guard_failures").get<std::uint64_t>();
    for (const json& b : p.at("latency_buckets")) {
      const int index = b.at(0).get<int>();
      if (index < 0 || index >= LatencyHistogram::kBucketCount) return std::nullopt;
      e.latency.add_to_bucket(index, b.at(1).get<std::uint32_t>());
    }
    e.dead_letters = j.at("dead_letters").get<std::uint64_t>();
    return r;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

void EvidenceBoard::update(EvidenceRecord record) {
  const std::string key = evidence_key(record.flag, record.instance);
  auto it = latest_.find(key);
  // Records of one key arrive in order (one partition); an older one can only be a replay.
  if (it != latest_.end() && it->second.at_ms > record.at_ms) return;
  latest_[key] = std::move(record);
}

Evidence EvidenceBoard::wave_evidence(std::string_view flag, int percentage,
                                      std::uint64_t since_revision, std::size_t* instances) const {
  Evidence sum;
  std::size_t n = 0;
  for (const auto& [key, r] : latest_) {
    if (r.flag != flag || r.percentage != percentage || r.since_revision < since_revision) continue;
    sum.add(r.evidence);
    ++n;
  }
  if (instances) *instances = n;
  return sum;
}

}  // namespace patchstream::rollout
