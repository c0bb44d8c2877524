// Group consumer over librdkafka's high-level consumer with an eager rebalance callback.
#include "consumer.h"

#include "client_state.h"

namespace patchstream::kafka {

struct Consumer::State : detail::ClientState {
  RebalanceHook on_rebalance;
  bool closed = false;
};

namespace {

int timeout_ms(std::chrono::milliseconds t) {
  return static_cast<int>(t.count());
}

void rebalance_cb(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                  rd_kafka_topic_partition_list_t* partitions, void* opaque) {
  auto* state = static_cast<Consumer::State*>(static_cast<detail::ClientState*>(opaque));
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    auto assign_err = rd_kafka_assign(rk, partitions);
    if (assign_err != RD_KAFKA_RESP_ERR_NO_ERROR && state->hooks.on_error) {
      state->hooks.on_error(KafkaError::from_code(assign_err, "assigning partitions", rk));
    }
    if (state->on_rebalance) {
      state->on_rebalance(RebalanceKind::Assigned, from_partition_list(partitions));
    }
    return;
  }
  if (state->on_rebalance) {
    auto kind = rd_kafka_assignment_lost(rk) != 0 ? RebalanceKind::Lost : RebalanceKind::Revoked;
    state->on_rebalance(kind, from_partition_list(partitions));
  }
  rd_kafka_assign(rk, nullptr);
}

bool is_cooperative(const std::string& strategies) {
  return strategies.find("cooperative") != std::string::npos;
}

}  // namespace

Consumer::Consumer(std::unique_ptr<State> state, ClientPtr rk)
    : state_(std::move(state)), rk_(std::move(rk)) {}

Consumer::Consumer(Consumer&&) noexcept = default;
Consumer& Consumer::operator=(Consumer&& other) noexcept {
  if (this != &other) {
    release();
    state_ = std::move(other.state_);
    rk_ = std::move(other.rk_);
  }
  return *this;
}

Consumer::~Consumer() {
  release();
}

void Consumer::release() noexcept {
  if (rk_ && state_ && !state_->closed) {
    state_->on_rebalance = nullptr;  // the loop that set it may already be gone
    (void)close();
  }
  rk_.reset();
}

Result<Consumer> Consumer::create(ConsumerSettings settings) {
  std::string group = settings.group_id;
  if (group.empty()) {
    auto it = settings.config.find("group.id");
    group = it != settings.config.end() ? it->second : "";
  }
  if (group.empty()) {
    return KafkaError::invalid("kafka.group.id: a consumer group id is required");
  }
  auto strategy = settings.config.find("partition.assignment.strategy");
  if (strategy != settings.config.end() && is_cooperative(strategy->second)) {
    return KafkaError::invalid(
        "kafka.partition.assignment.strategy: cooperative assignors are not supported "
        "(librdkafka 2.0.2 mishandles cooperative rebalancing with transactions); "
        "use range or roundrobin");
  }
  auto config = merge_config(
      {{"auto.offset.reset", "earliest"},
       {"enable.auto.offset.store", "false"},
       {"partition.assignment.strategy", "range"}},
      settings.config,
      {{"group.id", group, "the consumer group"},
       {"enable.auto.commit", "false",
        "offsets are committed with the transaction or after delivery"},
       {"isolation.level", "read_committed", "aborted transactions must never be processed"}});
  if (!config) {
    return config.error();
  }
  auto conf = make_conf(config.value());
  if (!conf) {
    return conf.error();
  }
  auto state = std::make_unique<State>();
  state->hooks = std::move(settings.hooks);
  state->on_rebalance = std::move(settings.on_rebalance);
  detail::install_hooks(conf.value().get(), state.get());
  rd_kafka_conf_set_rebalance_cb(conf.value().get(), rebalance_cb);
  auto rk = detail::new_client(RD_KAFKA_CONSUMER, conf.value());
  if (!rk) {
    return rk.error();
  }
  // One queue for messages, rebalances and client events, all served by poll().
  rd_kafka_poll_set_consumer(rk.value().get());
  return Consumer(std::move(state), std::move(rk).value());
}

Status Consumer::subscribe(const std::vector<std::string>& topics) {
  PartitionOffsets list;
  for (const auto& t : topics) {
    list.push_back({t, RD_KAFKA_PARTITION_UA, RD_KAFKA_OFFSET_INVALID});
  }
  auto err = rd_kafka_subscribe(rk_.get(), to_partition_list(list).get());
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return KafkaError::from_code(err, "subscribe", rk_.get());
  }
  return {};
}

Result<std::optional<Message>> Consumer::poll(std::chrono::milliseconds timeout) {
  MessagePtr msg(rd_kafka_consumer_poll(rk_.get(), timeout_ms(timeout)));
  if (!msg) {
    return std::optional<Message>();
  }
  if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    return std::optional<Message>(Message(std::move(msg)));
  }
  if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
    return std::optional<Message>();
  }
  std::string where = "consume";
  if (msg->rkt != nullptr) {
    where += std::string(" ") + rd_kafka_topic_name(msg->rkt) + "[" +
             std::to_string(msg->partition) + "]";
  }
  where += std::string(": ") + rd_kafka_message_errstr(msg.get());
  return KafkaError::from_code(msg->err, where, rk_.get());
}

Result<PartitionOffsets> Consumer::assignment() const {
  rd_kafka_topic_partition_list_t* raw = nullptr;
  auto err = rd_kafka_assignment(rk_.get(), &raw);
  PartitionListPtr list(raw);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return KafkaError::from_code(err, "assignment", rk_.get());
  }
  return from_partition_list(list.get());
}

Result<PartitionOffsets> Consumer::positions() const {
  rd_kafka_topic_partition_list_t* raw = nullptr;
  auto err = rd_kafka_assignment(rk_.get(), &raw);
  PartitionListPtr list(raw);
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    err = rd_kafka_position(rk_.get(), list.get());
  }
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return KafkaError::from_code(err, "positions", rk_.get());
  }
  return from_partition_list(list.get());
}

Result<PartitionOffsets> Consumer::committed(std::chrono::milliseconds timeout,
                                             const PartitionOffsets& partitions) const {
  auto wanted = or_assignment(partitions);
  if (!wanted) {
    return wanted.error();
  }
  auto list = to_partition_list(wanted.value());
  auto err = rd_kafka_committed(rk_.get(), list.get(), timeout_ms(timeout));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return KafkaError::from_code(err, "committed offsets", rk_.get());
  }
  return from_partition_list(list.get());
}

Status Consumer::seek(const PartitionOffsets& offsets, std::chrono::milliseconds timeout) {
  auto list = to_partition_list(offsets);
  if (auto* error = rd_kafka_seek_partitions(rk_.get(), list.get(), timeout_ms(timeout))) {
    return KafkaError::from(error);
  }
  for (int i = 0; i < list->cnt; ++i) {
    if (list->elems[i].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return KafkaError::from_code(list->elems[i].err,
                                   std::string("seek ") + list->elems[i].topic + "[" +
                                       std::to_string(list->elems[i].partition) + "]",
                                   rk_.get());
    }
  }
  return {};
}

Status Consumer::rewind_to_committed(std::chrono::milliseconds timeout) {
  auto offsets = committed(timeout);
  if (!offsets) {
    return offsets.error();
  }
  if (offsets.value().empty()) {
    return {};
  }
  for (auto& tpo : offsets.value()) {
    if (tpo.offset < 0) {
      tpo.offset =
          RD_KAFKA_OFFSET_BEGINNING;  // nothing committed yet: the whole partition is unprocessed
    }
  }
  return seek(offsets.value(), timeout);
}

Status Consumer::commit(const PartitionOffsets& offsets) {
  if (offsets.empty()) {
    return {};
  }
  auto err = rd_kafka_commit(rk_.get(), to_partition_list(offsets).get(), 0);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
    return KafkaError::from_code(err, "commit offsets", rk_.get());
  }
  return {};
}

Result<PartitionOffsets> Consumer::or_assignment(const PartitionOffsets& partitions) const {
  if (!partitions.empty()) {
    return partitions;
  }
  return assignment();
}

Status Consumer::set_paused(const PartitionOffsets& partitions, bool paused) {
  auto which = or_assignment(partitions);
  if (!which) {
    return which.error();
  }
  auto list = to_partition_list(which.value());
  auto err = paused ? rd_kafka_pause_partitions(rk_.get(), list.get())
                    : rd_kafka_resume_partitions(rk_.get(), list.get());
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return KafkaError::from_code(err, paused ? "pause" : "resume", rk_.get());
  }
  return {};
}

Status Consumer::pause(const PartitionOffsets& partitions) {
  return set_paused(partitions, true);
}

Status Consumer::resume(const PartitionOffsets& partitions) {
  return set_paused(partitions, false);
}

GroupMetadataPtr Consumer::group_metadata() const {
  return GroupMetadataPtr(rd_kafka_consumer_group_metadata(rk_.get()));
}

Result<std::pair<int64_t, int64_t>> Consumer::cached_watermarks(const std::string& topic,
                                                                int32_t partition) const {
  int64_t low = 0;
  int64_t high = 0;
  auto err = rd_kafka_get_watermark_offsets(rk_.get(), topic.c_str(), partition, &low, &high);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return KafkaError::from_code(err, "watermarks of " + topic, rk_.get());
  }
  return std::pair{low, high};
}

Result<std::size_t> Consumer::wake_parked_fetchers(std::chrono::milliseconds timeout) {
  auto positions_now = positions();
  if (!positions_now.ok()) return positions_now.error();
  std::size_t waiting = 0;
  for (const auto& tp : positions_now.value()) {
    int64_t low = 0;
    int64_t high = 0;
    if (tp.offset < 0 || rd_kafka_get_watermark_offsets(rk_.get(), tp.topic.c_str(), tp.partition,
                                                        &low, &high) != RD_KAFKA_RESP_ERR_NO_ERROR)
      continue;
    if (high <= tp.offset) continue;
    ++waiting;
    // The answer is not needed: sending the request is what wakes the fetcher.
    auto err = rd_kafka_query_watermark_offsets(rk_.get(), tp.topic.c_str(), tp.partition, &low,
                                                &high, timeout_ms(timeout));
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
      return KafkaError::from_code(err, "watermark query of " + tp.topic, rk_.get());
  }
  return waiting;
}

Status Consumer::close() {
  if (!rk_ || state_->closed) {
    return {};
  }
  state_->closed = true;
  auto err = rd_kafka_consumer_close(rk_.get());
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return KafkaError::from_code(err, "closing the consumer", rk_.get());
  }
  return {};
}

}  // namespace patchstream::kafka
