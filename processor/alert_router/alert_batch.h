// A batch of alert events taken from the alert topic: the values to post, the offsets to commit
// once every Alertmanager took them, and the records that cannot be sent at all.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kafka/records.h"

namespace patchstream::alert_router {

// Why a record was skipped instead of delivered; the label of
// patchstream_alert_router_skipped_total.
enum class SkipReason : std::uint8_t {
  not_json_object,  // the value is not one JSON object (empty, a tombstone, garbage)
  too_large,        // alone it exceeds alert_router.batch_max_bytes
  refused,          // an Alertmanager answered 400, 413 or 422 for this record alone
};
inline constexpr int kSkipReasonCount = 3;
std::string_view skip_reason_name(SkipReason reason) noexcept;

// The check a record passes before it is put in a request: a JSON object, small enough to send.
std::optional<SkipReason> check_alert_value(std::string_view value, std::size_t max_bytes);

struct AlertRecord {
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::int64_t timestamp_ms = -1;  // when it was produced (delivery latency), -1 when unknown
  std::string value;
  std::optional<SkipReason> skip;  // set by the pre-check: never sent
};

class AlertBatch {
 public:
  AlertBatch(std::string topic, std::size_t max_events, std::size_t max_bytes)
      : topic_(std::move(topic)), max_events_(max_events), max_bytes_(max_bytes) {}

  // False (and nothing changes) when the record would take the batch past its event or byte bound;
  // a record skipped by the pre-check takes a slot but no bytes.
  bool add(std::int32_t partition, std::int64_t offset, std::int64_t timestamp_ms,
           std::string_view value);
  // Removes the records of a partition that is no longer ours (the next owner reads them again).
  void drop_partition(std::int32_t partition);

  bool empty() const { return records_.empty(); }
  bool full() const { return records_.size() >= max_events_; }
  std::size_t size() const { return records_.size(); }
  const std::vector<AlertRecord>& records() const { return records_; }
  const std::string& topic() const { return topic_; }

  // Indexes of the records to send (the pre-check passed), in order.
  std::vector<std::size_t> sendable() const;
  // `[v1,v2,...]` of the records at `indexes`: one POST /api/v2/alerts body.
  std::string body(std::span<const std::size_t> indexes) const;
  // Per partition the offset after its last record: what to commit once the batch is delivered.
  kafka::PartitionOffsets next_offsets() const;

 private:
  std::string topic_;
  std::size_t max_events_;
  std::size_t max_bytes_;
  std::size_t bytes_ = 2;  // "[" and "]"
  std::vector<AlertRecord> records_;
};

}  // namespace patchstream::alert_router
