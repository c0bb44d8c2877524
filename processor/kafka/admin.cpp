// Admin operations over librdkafka's asynchronous Admin API, waited for on a private queue.
#include "admin.h"

#include "client_state.h"

#include <algorithm>
#include <array>
#include <thread>
#include <vector>

namespace patchstream::kafka {
namespace {

int timeout_ms(std::chrono::milliseconds t) {
  return static_cast<int>(t.count());
}

Result<AdminOptionsPtr> admin_options(rd_kafka_t* rk, rd_kafka_admin_op_t op,
                                      std::chrono::milliseconds timeout) {
  AdminOptionsPtr options(rd_kafka_AdminOptions_new(rk, op));
  std::array<char, 256> errstr{};
  if (rd_kafka_AdminOptions_set_request_timeout(options.get(), timeout_ms(timeout), errstr.data(),
                                                errstr.size()) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return KafkaError::invalid(std::string("admin request timeout: ") + errstr.data());
  }
  if (op == RD_KAFKA_ADMIN_OP_CREATETOPICS || op == RD_KAFKA_ADMIN_OP_DELETETOPICS) {
    // Wait for the controller to finish, so the topic is usable (or gone) when the call returns.
    rd_kafka_AdminOptions_set_operation_timeout(options.get(), timeout_ms(timeout), errstr.data(),
                                                errstr.size());
  }
  return options;
}

Status topic_results(const rd_kafka_topic_result_t* const* results, size_t count,
                     std::string_view what, bool exist_ok) {
  for (size_t i = 0; i < count; ++i) {
    auto err = rd_kafka_topic_result_error(results[i]);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR ||
        (exist_ok && err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)) {
      continue;
    }
    const char* detail = rd_kafka_topic_result_error_string(results[i]);
    KafkaError e;
    e.code = err;
    e.message = std::string(what) + " " + rd_kafka_topic_result_name(results[i]) + ": " +
                (detail != nullptr ? detail : rd_kafka_err2str(err));
    return e;
  }
  return {};
}

}  // namespace

Admin::Admin(std::unique_ptr<detail::ClientState> state, ClientPtr rk)
    : state_(std::move(state)), rk_(std::move(rk)) {}

Admin::Admin(Admin&&) noexcept = default;
Admin& Admin::operator=(Admin&& other) noexcept {
  if (this != &other) {
    rk_.reset();  // before its state: callbacks may run during destruction
    state_ = std::move(other.state_);
    rk_ = std::move(other.rk_);
  }
  return *this;
}
Admin::~Admin() = default;

Result<Admin> Admin::create(const KafkaConfig& config, ClientHooks hooks) {
  auto conf = make_conf(config);
  if (!conf) {
    return conf.error();
  }
  auto state = std::make_unique<detail::ClientState>();
  state->hooks = std::move(hooks);
  detail::install_hooks(conf.value().get(), state.get());
  auto rk = detail::new_client(RD_KAFKA_PRODUCER, conf.value());
  if (!rk) {
    return rk.error();
  }
  return Admin(std::move(state), std::move(rk).value());
}

Result<EventPtr> Admin::wait_result(rd_kafka_queue_t* queue, rd_kafka_event_type_t type,
                                    std::chrono::milliseconds timeout) {
  // The request's own timeout fires first; the margin only guards against a lost result.
  EventPtr event(rd_kafka_queue_poll(queue, timeout_ms(timeout) + 5000));
  if (!event) {
    return KafkaError::from_code(RD_KAFKA_RESP_ERR__TIMED_OUT, "admin request", rk_.get());
  }
  if (rd_kafka_event_type(event.get()) != type) {
    return KafkaError::invalid(std::string("admin request: unexpected event ") +
                               rd_kafka_event_name(event.get()));
  }
  if (auto err = rd_kafka_event_error(event.get()); err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    KafkaError e = KafkaError::from_code(err, "admin request", rk_.get());
    e.message = std::string("admin request: ") + rd_kafka_event_error_string(event.get());
    return e;
  }
  return event;
}

Status Admin::create_topics(std::span<const TopicSpec> topics, std::chrono::milliseconds timeout,
                            bool exist_ok) {
  if (topics.empty()) {
    return {};
  }
  std::vector<NewTopicPtr> owned;
  std::vector<rd_kafka_NewTopic_t*> raw;
  std::array<char, 512> errstr{};
  for (const auto& t : topics) {
    NewTopicPtr nt(rd_kafka_NewTopic_new(t.name.c_str(), t.partitions, t.replication_factor,
                                         errstr.data(), errstr.size()));
    if (!nt) {
      return KafkaError::invalid("topic " + t.name + ": " + errstr.data());
    }
    for (const auto& [key, value] : t.configs) {
      if (auto err = rd_kafka_NewTopic_set_config(nt.get(), key.c_str(), value.c_str());
          err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return KafkaError::from_code(err, "topic " + t.name + " config " + key, rk_.get());
      }
    }
    raw.push_back(nt.get());
    owned.push_back(std::move(nt));
  }
  auto options = admin_options(rk_.get(), RD_KAFKA_ADMIN_OP_CREATETOPICS, timeout);
  if (!options) {
    return options.error();
  }
  QueuePtr queue(rd_kafka_queue_new(rk_.get()));
  rd_kafka_CreateTopics(rk_.get(), raw.data(), raw.size(), options.value().get(), queue.get());
  auto event = wait_result(queue.get(), RD_KAFKA_EVENT_CREATETOPICS_RESULT, timeout);
  if (!event) {
    return event.error();
  }
  size_t count = 0;
  const auto* results = rd_kafka_CreateTopics_result_topics(
      rd_kafka_event_CreateTopics_result(event.value().get()), &count);
  if (auto status = topic_results(results, count, "create topic", exist_ok); !status) {
    return status;
  }
  return wait_until_visible(topics, timeout);
}

Status Admin::wait_until_visible(std::span<const TopicSpec> topics,
                                 std::chrono::milliseconds timeout) {
  // The controller answers CreateTopics before every broker's metadata cache has the topic (KRaft
  // applies the metadata log asynchronously); producing or describing right away would see
  // UNKNOWN_TOPIC_OR_PART.
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (const auto& t : topics) {
    while (true) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      auto count = partition_count(t.name, std::max(left, std::chrono::milliseconds(100)));
      if (count) {
        break;
      }
      if (count.error().code != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || left.count() <= 0) {
        auto e = count.error();
        e.message = "topic " + t.name + " created but not visible in metadata: " + e.message;
        return e;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  return {};
}

Status Admin::delete_topics(std::span<const std::string> topics,
                            std::chrono::milliseconds timeout) {
  if (topics.empty()) {
    return {};
  }
  std::vector<std::unique_ptr<rd_kafka_DeleteTopic_t,
                              RdDeleter<rd_kafka_DeleteTopic_t, rd_kafka_DeleteTopic_destroy>>>
      owned;
  std::vector<rd_kafka_DeleteTopic_t*> raw;
  for (const auto& name : topics) {
    owned.emplace_back(rd_kafka_DeleteTopic_new(name.c_str()));
    raw.push_back(owned.back().get());
  }
  auto options = admin_options(rk_.get(), RD_KAFKA_ADMIN_OP_DELETETOPICS, timeout);
  if (!options) {
    return options.error();
  }
  QueuePtr queue(rd_kafka_queue_new(rk_.get()));
  rd_kafka_DeleteTopics(rk_.get(), raw.data(), raw.size(), options.value().get(), queue.get());
  auto event = wait_result(queue.get(), RD_KAFKA_EVENT_DELETETOPICS_RESULT, timeout);
  if (!event) {
    return event.error();
  }
  size_t count = 0;
  const auto* results = rd_kafka_DeleteTopics_result_topics(
      rd_kafka_event_DeleteTopics_result(event.value().get()), &count);
  return topic_results(results, count, "delete topic", false);
}

Result<KafkaConfig> Admin::describe_topic(const std::string& topic,
                                          std::chrono::milliseconds timeout) {
  ConfigResourcePtr resource(rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic.c_str()));
  auto options = admin_options(rk_.get(), RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS, timeout);
  if (!options) {
    return options.error();
  }
  QueuePtr queue(rd_kafka_queue_new(rk_.get()));
  rd_kafka_ConfigResource_t* raw = resource.get();
  rd_kafka_DescribeConfigs(rk_.get(), &raw, 1, options.value().get(), queue.get());
  auto event = wait_result(queue.get(), RD_KAFKA_EVENT_DESCRIBECONFIGS_RESULT, timeout);
  if (!event) {
    return event.error();
  }
  size_t count = 0;
  const auto* resources = rd_kafka_DescribeConfigs_result_resources(
      rd_kafka_event_DescribeConfigs_result(event.value().get()), &count);
  if (count != 1) {
    return KafkaError::invalid("describe topic " + topic + ": no result");
  }
  if (auto err = rd_kafka_ConfigResource_error(resources[0]); err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    KafkaError e;
    e.code = err;
    const char* detail = rd_kafka_ConfigResource_error_string(resources[0]);
    e.message =
        "describe topic " + topic + ": " + (detail != nullptr ? detail : rd_kafka_err2str(err));
    return e;
  }
  KafkaConfig out;
  size_t entries = 0;
  const auto* configs = rd_kafka_ConfigResource_configs(resources[0], &entries);
  for (size_t i = 0; i < entries; ++i) {
    const char* value = rd_kafka_ConfigEntry_value(configs[i]);
    out.emplace(rd_kafka_ConfigEntry_name(configs[i]), value != nullptr ? value : "");
  }
  return out;
}

Result<int> Admin::partition_count(const std::string& topic, std::chrono::milliseconds timeout) {
  using TopicPtr =
      std::unique_ptr<rd_kafka_topic_t, RdDeleter<rd_kafka_topic_t, rd_kafka_topic_destroy>>;
  TopicPtr rkt(rd_kafka_topic_new(rk_.get(), topic.c_str(), nullptr));
  const rd_kafka_metadata_t* raw = nullptr;
  auto err = rd_kafka_metadata(rk_.get(), 0, rkt.get(), &raw, timeout_ms(timeout));
  MetadataPtr md(raw);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return KafkaError::from_code(err, "metadata of " + topic, rk_.get());
  }
  if (md->topic_cnt != 1) {
    return KafkaError::from_code(RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, "metadata of " + topic,
                                 rk_.get());
  }
  if (md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return KafkaError::from_code(md->topics[0].err, "metadata of " + topic, rk_.get());
  }
  return md->topics[0].partition_cnt;
}

}  // namespace patchstream::kafka
