// Records, headers and partition offsets as plain values, and the consumed-message view over
// librdkafka's buffer.
#pragma once

#include "error.h"
#include "handles.h"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace patchstream::kafka {

inline constexpr int32_t kAnyPartition = RD_KAFKA_PARTITION_UA;

struct TopicPartitionOffset {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = RD_KAFKA_OFFSET_INVALID;  // next offset to read, as Kafka commits it
  bool operator==(const TopicPartitionOffset&) const = default;
};
using PartitionOffsets = std::vector<TopicPartitionOffset>;

PartitionListPtr to_partition_list(const PartitionOffsets& offsets);
PartitionOffsets from_partition_list(const rd_kafka_topic_partition_list_t* list);

// A header borrowed from elsewhere (a consumed message, a string literal). A value with data() ==
// nullptr is a Kafka null header value; "" is an empty one.
struct HeaderView {
  std::string_view key;
  std::string_view value;
};

// An owned header, for records kept beyond the message they came from.
struct Header {
  std::string key;
  std::string value;
  bool operator==(const Header&) const = default;
};

// A whole record as plain values: tests, dead letters and anything that outlives the consumed
// message.
struct Record {
  std::string topic;
  int32_t partition = kAnyPartition;
  int64_t offset = RD_KAFKA_OFFSET_INVALID;
  std::optional<std::string> key;
  std::string value;
  std::vector<Header> headers;
};

// librdkafka headers holding copies of `headers` (for produce, which takes ownership on success).
HeadersPtr make_headers(std::span<const HeaderView> headers);
// Views of every header in order (repeated keys kept); valid while `headers` lives.
std::vector<HeaderView> read_headers(const rd_kafka_headers_t* headers);

// One consumed message, owning librdkafka's buffer: key, value and headers are views into it, no
// copies.
class Message {
 public:
  explicit Message(MessagePtr message) : m_(std::move(message)) {}

  std::string_view topic() const { return rd_kafka_topic_name(m_->rkt); }
  int32_t partition() const { return m_->partition; }
  int64_t offset() const { return m_->offset; }
  bool has_key() const { return m_->key != nullptr; }
  std::string_view key() const { return {static_cast<const char*>(m_->key), m_->key_len}; }
  std::string_view value() const {
    return m_->payload != nullptr ? std::string_view(static_cast<const char*>(m_->payload), m_->len)
                                  : std::string_view();
  }
  // Milliseconds since the epoch, or -1 when the broker sent none.
  int64_t timestamp_ms() const;
  // The last header named `name`; nullopt when absent.
  std::optional<std::string_view> header(std::string_view name) const;
  std::vector<HeaderView> headers() const;
  Record to_record() const;
  rd_kafka_message_t* get() const { return m_.get(); }

 private:
  MessagePtr m_;
};

}  // namespace patchstream::kafka
