// Batching of alert events: pre-check, byte accounting, request bodies and commit offsets.
#include "alert_router/alert_batch.h"

#include <algorithm>
#include <map>

#include <nlohmann/json.hpp>

namespace patchstream::alert_router {

std::string_view skip_reason_name(SkipReason reason) noexcept {
  switch (reason) {
    case SkipReason::not_json_object:
      return "not_json_object";
    case SkipReason::too_large:
      return "too_large";
    case SkipReason::refused:
      return "refused";
  }
  return "unknown";
}

std::optional<SkipReason> check_alert_value(std::string_view value, std::size_t max_bytes) {
  // Two brackets frame a one-record body.
  if (value.size() + 2 > max_bytes) return SkipReason::too_large;
  const auto first = value.find_first_not_of(" \t\r\n");
  // A whole-value parse: a fragment like `{"a":"` would otherwise swallow its neighbours in
  // `[...]`.
  if (first == std::string_view::npos || value[first] != '{' ||
      !nlohmann::json::accept(value.begin(), value.end()))
    return SkipReason::not_json_object;
  return std::nullopt;
}

bool AlertBatch::add(std::int32_t partition, std::int64_t offset, std::int64_t timestamp_ms,
                     std::string_view value) {
  if (full()) return false;
  auto skip = check_alert_value(value, max_bytes_);
  const std::size_t cost = skip ? 0 : value.size() + 1;  // the value and its comma
  if (!skip && bytes_ + cost > max_bytes_ && !records_.empty()) return false;
  bytes_ += cost;
  records_.push_back(
      {partition, offset, timestamp_ms, skip ? std::string() : std::string(value), skip});
  return true;
}

void AlertBatch::drop_partition(std::int32_t partition) {
  std::erase_if(records_, [&](const AlertRecord& r) {
    if (r.partition != partition) return false;
    if (!r.skip) bytes_ -= r.value.size() + 1;
    return true;
  });
}

std::vector<std::size_t> AlertBatch::sendable() const {
  std::vector<std::size_t> out;
  out.reserve(records_.size());
  for (std::size_t i = 0; i < records_.size(); ++i)
    if (!records_[i].skip) out.push_back(i);
  return out;
}

std::string AlertBatch::body(std::span<const std::size_t> indexes) const {
  std::size_t size = 2;
  for (auto i : indexes)
    size += records_[i].value.size() + 1;
  std::string out;
  out.reserve(size);
  out += '[';
  for (std::size_t n = 0; n < indexes.size(); ++n) {
    if (n > 0) out += ',';
    out += records_[indexes[n]].value;
  }
  out += ']';
  return out;
}

kafka::PartitionOffsets AlertBatch::next_offsets() const {
  std::map<std::int32_t, std::int64_t> next;
  for (const auto& r : records_) {
    auto& o = next[r.partition];
    o = std::max(o, r.offset + 1);
  }
  kafka::PartitionOffsets out;
  for (const auto& [partition, offset] : next)
    out.push_back({topic_, partition, offset});
  return out;
}

}  // namespace patchstream::alert_router
