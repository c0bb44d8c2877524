// Internal: the per-client state librdkafka's callbacks reach through the opaque pointer (not part
// of the API).
#pragma once

#include "config.h"

namespace patchstream::kafka::detail {

// Lives on the heap so its address stays valid when the owning Consumer/Producer/Admin value is
// moved.
struct ClientState {
  ClientHooks hooks;
  virtual ~ClientState() = default;
};

// Sets `state` as the conf's opaque and routes error/log callbacks to its hooks.
void install_hooks(rd_kafka_conf_t* conf, ClientState* state);

// rd_kafka_new with `conf`; on success librdkafka owns conf (released from `conf`).
Result<ClientPtr> new_client(rd_kafka_type_t type, ConfPtr& conf);

}  // namespace patchstream::kafka::detail
