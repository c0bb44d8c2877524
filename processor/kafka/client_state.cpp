// Internal: callback plumbing and client creation shared by Consumer, Producer and Admin.
#include "client_state.h"

#include <array>

namespace patchstream::kafka::detail {
namespace {

void error_cb(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
  auto* state = static_cast<ClientState*>(opaque);
  if (state == nullptr || !state->hooks.on_error) {
    return;
  }
  auto e = KafkaError::from_code(static_cast<rd_kafka_resp_err_t>(err), reason, rk);
  state->hooks.on_error(e);
}

void log_cb(const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
  auto* state = static_cast<ClientState*>(rd_kafka_opaque(rk));
  if (state != nullptr && state->hooks.on_log) {
    state->hooks.on_log(level, fac, buf);
  }
}

}  // namespace

void install_hooks(rd_kafka_conf_t* conf, ClientState* state) {
  rd_kafka_conf_set_opaque(conf, state);
  if (state->hooks.on_error) {
    rd_kafka_conf_set_error_cb(conf, error_cb);
  }
  if (state->hooks.on_log) {
    rd_kafka_conf_set_log_cb(conf, log_cb);
  }
}

Result<ClientPtr> new_client(rd_kafka_type_t type, ConfPtr& conf) {
  std::array<char, 512> errstr{};
  ClientPtr rk(rd_kafka_new(type, conf.get(), errstr.data(), errstr.size()));
  if (!rk) {
    return KafkaError::invalid(std::string("creating the Kafka client failed: ") + errstr.data());
  }
  (void)conf.release();  // rd_kafka_new took it
  return rk;
}

}  // namespace patchstream::kafka::detail
