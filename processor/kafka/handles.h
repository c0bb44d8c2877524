// Owning smart pointers for every librdkafka handle the wrapper touches; nothing else frees them.
#pragma once

#include <librdkafka/rdkafka.h>

#include <memory>

namespace patchstream::kafka {

// Frees a librdkafka object with its own destroy function; one deleter type per handle type.
template <class T, void (*Destroy)(T*)>
struct RdDeleter {
  void operator()(T* p) const noexcept {
    if (p != nullptr) {
      Destroy(p);
    }
  }
};

namespace detail {
inline void destroy_metadata(const rd_kafka_metadata_t* p) {
  rd_kafka_metadata_destroy(p);
}
inline void destroy_message(rd_kafka_message_t* p) {
  rd_kafka_message_destroy(p);
}
}  // namespace detail

// rd_kafka_destroy of a consumer closes it first; Consumer closes explicitly so its rebalance hook
// runs while valid.
using ClientPtr = std::unique_ptr<rd_kafka_t, RdDeleter<rd_kafka_t, rd_kafka_destroy>>;
using ConfPtr = std::unique_ptr<rd_kafka_conf_t, RdDeleter<rd_kafka_conf_t, rd_kafka_conf_destroy>>;
using PartitionListPtr = std::unique_ptr<
    rd_kafka_topic_partition_list_t,
    RdDeleter<rd_kafka_topic_partition_list_t, rd_kafka_topic_partition_list_destroy>>;
using HeadersPtr =
    std::unique_ptr<rd_kafka_headers_t, RdDeleter<rd_kafka_headers_t, rd_kafka_headers_destroy>>;
using MessagePtr =
    std::unique_ptr<rd_kafka_message_t, RdDeleter<rd_kafka_message_t, detail::destroy_message>>;
using TopicPtr =
    std::unique_ptr<rd_kafka_topic_t, RdDeleter<rd_kafka_topic_t, rd_kafka_topic_destroy>>;
using MetadataPtr = std::unique_ptr<const rd_kafka_metadata_t,
                                    RdDeleter<const rd_kafka_metadata_t, detail::destroy_metadata>>;
using QueuePtr =
    std::unique_ptr<rd_kafka_queue_t, RdDeleter<rd_kafka_queue_t, rd_kafka_queue_destroy>>;
using EventPtr =
    std::unique_ptr<rd_kafka_event_t, RdDeleter<rd_kafka_event_t, rd_kafka_event_destroy>>;
using ErrorPtr =
    std::unique_ptr<rd_kafka_error_t, RdDeleter<rd_kafka_error_t, rd_kafka_error_destroy>>;
using GroupMetadataPtr = std::unique_ptr<
    rd_kafka_consumer_group_metadata_t,
    RdDeleter<rd_kafka_consumer_group_metadata_t, rd_kafka_consumer_group_metadata_destroy>>;
using NewTopicPtr =
    std::unique_ptr<rd_kafka_NewTopic_t, RdDeleter<rd_kafka_NewTopic_t, rd_kafka_NewTopic_destroy>>;
using AdminOptionsPtr =
    std::unique_ptr<rd_kafka_AdminOptions_t,
                    RdDeleter<rd_kafka_AdminOptions_t, rd_kafka_AdminOptions_destroy>>;
using ConfigResourcePtr =
    std::unique_ptr<rd_kafka_ConfigResource_t,
                    RdDeleter<rd_kafka_ConfigResource_t, rd_kafka_ConfigResource_destroy>>;

}  // namespace patchstream::kafka
