// An owned librdkafka mock cluster: in-process toy brokers on loopback ports, without delivery
// guarantees.
#pragma once

#include "admin.h"
#include "config.h"
#include "error.h"
#include "handles.h"

#include <librdkafka/rdkafka_mock.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace patchstream::kafka {

// librdkafka's mock cluster answers the Kafka protocol on real localhost TCP ports, so any client
// (patchstream, kcat) can use it as `bootstrap.servers`. It keeps records in memory only and fakes
// transactions (no control records: read_committed sees aborted records too); it is for demos and
// cheap tests, never for a delivery claim.
class MockCluster {
 public:
  // `brokers` ≥ 1. `hooks.on_log` receives the mock's log lines (librdkafka's threads).
  static Result<MockCluster> create(int brokers, ClientHooks hooks = {});

  MockCluster(MockCluster&&) noexcept;
  MockCluster& operator=(MockCluster&&) noexcept;
  ~MockCluster();

  // The CreateTopics admin request is not served by the mock: topics are made here, or
  // auto-created by metadata requests. `partitions` ≥ 1; replication is capped by the brokers.
  Status create_topic(const std::string& name, int partitions, int replication_factor = 1);
  // "127.0.0.1:port[,…]", one entry per broker.
  std::string bootstrap() const;
  // Fault injection for tests: the next requests of `api_key` (RD_KAFKAP_*) are answered with
  // these errors, one per request, in order (api_key: the protocol ApiKey, e.g. 26 for EndTxn).
  void push_request_errors(std::int16_t api_key, const std::vector<rd_kafka_resp_err_t>& errors);
  int brokers() const { return brokers_; }

 private:
  using ClusterPtr =
      std::unique_ptr<rd_kafka_mock_cluster_t,
                      RdDeleter<rd_kafka_mock_cluster_t, rd_kafka_mock_cluster_destroy>>;
  MockCluster(Admin host, ClusterPtr cluster, int brokers);

  // The cluster lives on a client handle librdkafka needs for its bookkeeping (it never connects):
  // declared first, so the cluster is destroyed before it.
  Admin host_;
  ClusterPtr cluster_;
  int brokers_ = 0;
};

}  // namespace patchstream::kafka
