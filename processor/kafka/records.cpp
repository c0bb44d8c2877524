// Conversions between the plain record/offset values and librdkafka's lists, headers and messages.
#include "records.h"

namespace patchstream::kafka {

PartitionListPtr to_partition_list(const PartitionOffsets& offsets) {
  PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size())));
  for (const auto& tpo : offsets) {
    rd_kafka_topic_partition_list_add(list.get(), tpo.topic.c_str(), tpo.partition)->offset =
        tpo.offset;
  }
  return list;
}

PartitionOffsets from_partition_list(const rd_kafka_topic_partition_list_t* list) {
  PartitionOffsets out;
  if (list == nullptr) {
    return out;
  }
  out.reserve(static_cast<size_t>(list->cnt));
  for (int i = 0; i < list->cnt; ++i) {
    const auto& e = list->elems[i];
    out.push_back({e.topic, e.partition, e.offset});
  }
  return out;
}

HeadersPtr make_headers(std::span<const HeaderView> headers) {
  HeadersPtr out(rd_kafka_headers_new(headers.size()));
  for (const auto& h : headers) {
    const void* value = h.value.data();
    auto size = value != nullptr ? static_cast<ssize_t>(h.value.size()) : 0;
    rd_kafka_header_add(out.get(), h.key.data(), static_cast<ssize_t>(h.key.size()), value, size);
  }
  return out;
}

std::vector<HeaderView> read_headers(const rd_kafka_headers_t* headers) {
  std::vector<HeaderView> out;
  if (headers == nullptr) {
    return out;
  }
  out.reserve(rd_kafka_header_cnt(headers));
  const char* name = nullptr;
  const void* value = nullptr;
  size_t size = 0;
  for (size_t i = 0;
       rd_kafka_header_get_all(headers, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
       ++i) {
    out.push_back({name, value != nullptr ? std::string_view(static_cast<const char*>(value), size)
                                          : std::string_view()});
  }
  return out;
}

int64_t Message::timestamp_ms() const {
  rd_kafka_timestamp_type_t type{};
  return rd_kafka_message_timestamp(m_.get(), &type);
}

std::optional<std::string_view> Message::header(std::string_view name) const {
  rd_kafka_headers_t* hdrs = nullptr;
  if (rd_kafka_message_headers(m_.get(), &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return std::nullopt;
  }
  // rd_kafka_header_get_last wants a NUL-terminated name; scanning avoids copying `name` per event.
  std::optional<std::string_view> found;
  const char* key = nullptr;
  const void* value = nullptr;
  size_t size = 0;
  for (size_t i = 0;
       rd_kafka_header_get_all(hdrs, i, &key, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i) {
    if (name == key) {
      found = value != nullptr ? std::string_view(static_cast<const char*>(value), size)
                               : std::string_view();
    }
  }
  return found;
}

std::vector<HeaderView> Message::headers() const {
  rd_kafka_headers_t* hdrs = nullptr;
  if (rd_kafka_message_headers(m_.get(), &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return {};
  }
  return read_headers(hdrs);
}

Record Message::to_record() const {
  Record r;
  r.topic = std::string(topic());
  r.partition = partition();
  r.offset = offset();
  if (has_key()) {
    r.key = std::string(key());
  }
  r.value = std::string(value());
  for (const auto& h : headers()) {
    r.headers.push_back({std::string(h.key), std::string(h.value)});
  }
  return r;
}

}  // namespace patchstream::kafka
