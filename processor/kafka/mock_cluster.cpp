// The mock cluster's owner: a client handle for librdkafka's bookkeeping, and the cluster on it.
#include "mock_cluster.h"

#include <algorithm>

namespace patchstream::kafka {

MockCluster::MockCluster(Admin host, ClusterPtr cluster, int brokers)
    : host_(std::move(host)), cluster_(std::move(cluster)), brokers_(brokers) {}

MockCluster::MockCluster(MockCluster&&) noexcept = default;
MockCluster& MockCluster::operator=(MockCluster&& other) noexcept {
  if (this != &other) {
    cluster_.reset();  // before the handle it lives on
    host_ = std::move(other.host_);
    cluster_ = std::move(other.cluster_);
    brokers_ = other.brokers_;
  }
  return *this;
}
MockCluster::~MockCluster() = default;

Result<MockCluster> MockCluster::create(int brokers, ClientHooks hooks) {
  if (brokers < 1) {
    return KafkaError::invalid("mock cluster: brokers must be at least 1, got " +
                               std::to_string(brokers));
  }
  auto host = Admin::create({}, std::move(hooks));
  if (!host) {
    return host.error();
  }
  ClusterPtr cluster(rd_kafka_mock_cluster_new(host->get(), brokers));
  if (!cluster) {
    return KafkaError::invalid("mock cluster: rd_kafka_mock_cluster_new failed (" +
                               std::to_string(brokers) + " brokers; no free loopback port?)");
  }
  return MockCluster(std::move(host).value(), std::move(cluster), brokers);
}

Status MockCluster::create_topic(const std::string& name, int partitions, int replication_factor) {
  if (name.empty() || partitions < 1 || replication_factor < 1) {
    return KafkaError::invalid("mock cluster: topic '" + name + "' needs a name, partitions ≥ 1 " +
                               "and replication ≥ 1");
  }
  const auto err = rd_kafka_mock_topic_create(cluster_.get(), name.c_str(), partitions,
                                              std::min(replication_factor, brokers_));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return KafkaError::from_code(err, "mock cluster: creating topic " + name);
  }
  return {};
}

void MockCluster::push_request_errors(std::int16_t api_key,
                                      const std::vector<rd_kafka_resp_err_t>& errors) {
  rd_kafka_mock_push_request_errors_array(cluster_.get(), api_key, errors.size(), errors.data());
}

std::string MockCluster::bootstrap() const {
  return rd_kafka_mock_cluster_bootstraps(cluster_.get());
}

}  // namespace patchstream::kafka
