// Conversions from librdkafka's error objects and codes to KafkaError.
#include "error.h"

#include <array>

namespace patchstream::kafka {

KafkaError KafkaError::from(rd_kafka_error_t* error) {
  KafkaError e;
  if (error == nullptr) {
    e.code = RD_KAFKA_RESP_ERR_NO_ERROR;
    return e;
  }
  e.code = rd_kafka_error_code(error);
  e.message = rd_kafka_error_string(error);
  e.fatal = rd_kafka_error_is_fatal(error) != 0;
  e.retriable = rd_kafka_error_is_retriable(error) != 0;
  e.txn_requires_abort = rd_kafka_error_txn_requires_abort(error) != 0;
  rd_kafka_error_destroy(error);
  return e;
}

KafkaError KafkaError::from_code(rd_kafka_resp_err_t code, std::string_view context,
                                 rd_kafka_t* rk) {
  KafkaError e;
  e.code = code;
  if (code == RD_KAFKA_RESP_ERR__FATAL && rk != nullptr) {
    std::array<char, 512> buf{};
    e.code = rd_kafka_fatal_error(rk, buf.data(), buf.size());
    e.fatal = true;
    e.message = std::string(context) + ": " + buf.data();
    return e;
  }
  e.message = std::string(context) + ": " + rd_kafka_err2str(code);
  e.retriable = code == RD_KAFKA_RESP_ERR__QUEUE_FULL || code == RD_KAFKA_RESP_ERR__TIMED_OUT ||
                code == RD_KAFKA_RESP_ERR__TRANSPORT || code == RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT;
  return e;
}

KafkaError KafkaError::invalid(std::string message) {
  KafkaError e;
  e.code = RD_KAFKA_RESP_ERR__INVALID_ARG;
  e.message = std::move(message);
  return e;
}

std::string KafkaError::name() const {
  return rd_kafka_err2name(code);
}

std::string KafkaError::to_string() const {
  std::string s = name() + ": " + message;
  if (fatal) {
    s += " [fatal]";
  } else if (txn_requires_abort) {
    s += " [abort transaction]";
  } else if (retriable) {
    s += " [retriable]";
  }
  return s;
}

}  // namespace patchstream::kafka
