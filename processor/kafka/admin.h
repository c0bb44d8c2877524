// Topic administration: create (incl. compacted), delete, describe configuration, count partitions.
#pragma once

#include "config.h"
#include "error.h"
#include "handles.h"

#include <chrono>
#include <memory>
#include <span>
#include <string>

namespace patchstream::kafka {

namespace detail {
struct ClientState;
}

struct TopicSpec {
  std::string name;
  int partitions = 1;
  int replication_factor = 1;
  KafkaConfig configs;  // topic configs, e.g. {"cleanup.policy", "compact"}

  static TopicSpec compacted(std::string name, int partitions = 1) {
    return {std::move(name), partitions, 1, {{"cleanup.policy", "compact"}}};
  }
};

class Admin {
 public:
  static Result<Admin> create(const KafkaConfig& config, ClientHooks hooks = {});

  Admin(Admin&&) noexcept;
  Admin& operator=(Admin&&) noexcept;
  ~Admin();

  // The first failing topic's error names it. An existing topic is fine when `exist_ok` (its
  // partitions and configs are not checked). Returns once every topic is visible in the metadata.
  Status create_topics(std::span<const TopicSpec> topics, std::chrono::milliseconds timeout,
                       bool exist_ok = true);
  Status delete_topics(std::span<const std::string> topics, std::chrono::milliseconds timeout);
  // The topic's effective configuration (explicit and default entries).
  Result<KafkaConfig> describe_topic(const std::string& topic, std::chrono::milliseconds timeout);
  // Partitions of `topic` per the cluster metadata; UNKNOWN_TOPIC_OR_PART when it does not exist.
  Result<int> partition_count(const std::string& topic, std::chrono::milliseconds timeout);

  rd_kafka_t* get() const { return rk_.get(); }

 private:
  Admin(std::unique_ptr<detail::ClientState> state, ClientPtr rk);
  Status wait_until_visible(std::span<const TopicSpec> topics, std::chrono::milliseconds timeout);
  Result<EventPtr> wait_result(rd_kafka_queue_t* queue, rd_kafka_event_type_t type,
                               std::chrono::milliseconds timeout);

  std::unique_ptr<detail::ClientState> state_;
  ClientPtr rk_;
};

}  // namespace patchstream::kafka
