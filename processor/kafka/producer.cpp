// Transactional and idempotent producers over rd_kafka_producev, with delivery accounting.
#include "producer.h"

#include <algorithm>
#include <array>

#include "client_state.h"

namespace patchstream::kafka {

struct Producer::State : detail::ClientState {
  DeliveryStats deliveries;
  bool transactional = false;
};

namespace {

int timeout_ms(std::chrono::milliseconds t) {
  return static_cast<int>(t.count());
}

void delivery_cb(rd_kafka_t* rk, const rd_kafka_message_t* msg, void* opaque) {
  auto* state = static_cast<Producer::State*>(static_cast<detail::ClientState*>(opaque));
  if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    ++state->deliveries.delivered;
    return;
  }
  ++state->deliveries.failed;
  if (!state->deliveries.first_failure) {
    std::string where = "delivery";
    if (msg->rkt != nullptr) {
      where += std::string(" to ") + rd_kafka_topic_name(msg->rkt);
    }
    state->deliveries.first_failure = KafkaError::from_code(msg->err, where, rk);
  }
}

}  // namespace

Producer::Producer(std::unique_ptr<State> state, ClientPtr rk)
    : state_(std::move(state)), rk_(std::move(rk)) {}

Producer::Producer(Producer&&) noexcept = default;
Producer& Producer::operator=(Producer&& other) noexcept {
  if (this != &other) {
    topics_.clear();  // topic handles before their client
    rk_.reset();      // before its state: callbacks may run during destruction
    state_ = std::move(other.state_);
    rk_ = std::move(other.rk_);
    topics_ = std::move(other.topics_);
  }
  return *this;
}
Producer::~Producer() = default;

Result<Producer> Producer::create(const KafkaConfig& config,
                                  std::initializer_list<RequiredSetting> required,
                                  bool transactional, ClientHooks hooks) {
  if (!transactional && config.contains("transactional.id")) {
    return KafkaError::invalid(
        "kafka.transactional.id: not allowed for the non-transactional producer");
  }
  auto merged = merge_config({}, config, required);
  if (!merged) {
    return merged.error();
  }
  auto conf = make_conf(merged.value());
  if (!conf) {
    return conf.error();
  }
  auto state = std::make_unique<State>();
  state->hooks = std::move(hooks);
  state->transactional = transactional;
  detail::install_hooks(conf.value().get(), state.get());
  rd_kafka_conf_set_dr_msg_cb(conf.value().get(), delivery_cb);
  auto rk = detail::new_client(RD_KAFKA_PRODUCER, conf.value());
  if (!rk) {
    return rk.error();
  }
  return Producer(std::move(state), std::move(rk).value());
}

Result<Producer> Producer::transactional(const KafkaConfig& config,
                                         const std::string& transactional_id, ClientHooks hooks) {
  if (transactional_id.empty()) {
    return KafkaError::invalid("kafka.transactional.id: must not be empty");
  }
  return create(config,
                {{"transactional.id", transactional_id, "the instance's stable transactional id"},
                 {"enable.idempotence", "true", "transactions need idempotence"}},
                true, std::move(hooks));
}

Result<Producer> Producer::idempotent(const KafkaConfig& config, ClientHooks hooks) {
  return create(config,
                {{"enable.idempotence", "true", "no duplicates or reordering on producer retries"}},
                false, std::move(hooks));
}

Status Producer::init_transactions(std::chrono::milliseconds timeout) {
  if (auto* e = rd_kafka_init_transactions(rk_.get(), timeout_ms(timeout))) {
    return KafkaError::from(e);
  }
  return {};
}

Status Producer::begin_transaction() {
  if (auto* e = rd_kafka_begin_transaction(rk_.get())) {
    return KafkaError::from(e);
  }
  return {};
}

Status Producer::send_offsets_to_transaction(const PartitionOffsets& offsets,
                                             const rd_kafka_consumer_group_metadata_t* group,
                                             std::chrono::milliseconds timeout) {
  if (group == nullptr) {
    return KafkaError::invalid("send_offsets_to_transaction: no consumer group metadata");
  }
  auto list = to_partition_list(offsets);
  if (auto* e =
          rd_kafka_send_offsets_to_transaction(rk_.get(), list.get(), group, timeout_ms(timeout))) {
    return KafkaError::from(e);
  }
  return {};
}

Status Producer::commit_transaction(std::chrono::milliseconds timeout) {
  if (auto* e = rd_kafka_commit_transaction(rk_.get(), timeout_ms(timeout))) {
    return KafkaError::from(e);
  }
  return {};
}

Status Producer::commit_with_offsets(const PartitionOffsets& offsets,
                                     const rd_kafka_consumer_group_metadata_t* group,
                                     std::chrono::milliseconds timeout) {
  // A failed delivery leaves the transaction abortable: the calls below report it.
  if (auto s = flush(timeout); !s.ok()) return s;
  if (auto s = send_offsets_to_transaction(offsets, group, timeout); !s.ok()) return s;
  return commit_transaction(timeout);
}

Status Producer::abort_transaction(std::chrono::milliseconds timeout) {
  if (auto* e = rd_kafka_abort_transaction(rk_.get(), timeout_ms(timeout))) {
    return KafkaError::from(e);
  }
  return {};
}

Status Producer::produce(std::string_view topic, std::string_view key, std::string_view value,
                         std::span<const HeaderView> headers, int32_t partition) {
  // librdkafka's varargs API only reads these; the casts drop const for its void* parameters.
  void* key_ptr = const_cast<char*>(key.data());
  void* value_ptr = const_cast<char*>(value.data());
  rd_kafka_topic_t* rkt = nullptr;
  for (const auto& known : topics_) {
    if (topic == rd_kafka_topic_name(known.get())) rkt = known.get();
  }
  TopicPtr named;
  if (rkt == nullptr) {
    named.reset(rd_kafka_topic_new(rk_.get(), std::string(topic).c_str(), nullptr));
    rkt = named.get();
  }
  // No headers: a null list, which librdkafka accepts and which costs no allocation.
  HeadersPtr hdrs = headers.empty() ? nullptr : make_headers(headers);
  const rd_kafka_resp_err_t err = rd_kafka_producev(
      rk_.get(), RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_PARTITION(partition),
      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key_ptr, key.size()),
      RD_KAFKA_V_VALUE(value_ptr, value.size()), RD_KAFKA_V_HEADERS(hdrs.get()), RD_KAFKA_V_END);
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) (void)hdrs.release();  // the message owns them now
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return KafkaError::from_code(err, "produce to " + std::string(topic), rk_.get());
  }
  return {};
}

int Producer::poll(std::chrono::milliseconds timeout) {
  return rd_kafka_poll(rk_.get(), timeout_ms(timeout));
}

Status Producer::flush(std::chrono::milliseconds timeout) {
  auto err = rd_kafka_flush(rk_.get(), timeout_ms(timeout));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return KafkaError::from_code(err, "flush", rk_.get());
  }
  return {};
}

Status Producer::load_topics(const std::vector<std::string>& topics,
                             std::chrono::milliseconds timeout) {
  for (const auto& topic : topics)
    topics_.emplace_back(rd_kafka_topic_new(rk_.get(), topic.c_str(), nullptr));
  // One request for every locally known topic: a broker that is down costs `timeout` once.
  const rd_kafka_metadata_t* raw = nullptr;
  auto err = rd_kafka_metadata(rk_.get(), 0, nullptr, &raw, timeout_ms(timeout));
  MetadataPtr md(raw);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return KafkaError::from_code(err, "metadata", rk_.get());
  for (const auto& topic : topics) {
    const auto* begin = md->topics;
    const auto* end = md->topics + md->topic_cnt;
    const auto* found = std::find_if(
        begin, end, [&](const rd_kafka_metadata_topic_t& t) { return topic == t.topic; });
    const auto topic_err = found == end ? RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART : found->err;
    if (topic_err != RD_KAFKA_RESP_ERR_NO_ERROR)
      return KafkaError::from_code(topic_err, "metadata of " + topic, rk_.get());
  }
  return {};
}

int Producer::queue_length() const {
  return rd_kafka_outq_len(rk_.get());
}

const DeliveryStats& Producer::deliveries() const {
  return state_->deliveries;
}

void Producer::reset_deliveries() {
  state_->deliveries = {};
}

std::optional<KafkaError> Producer::fatal_error() const {
  std::array<char, 512> buf{};
  auto err = rd_kafka_fatal_error(rk_.get(), buf.data(), buf.size());
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    return std::nullopt;
  }
  KafkaError e;
  e.code = err;
  e.message = buf.data();
  e.fatal = true;
  return e;
}

bool Producer::is_transactional() const {
  return state_->transactional;
}

}  // namespace patchstream::kafka
