// The one error type of the Kafka wrapper and the Result/Status values its operations return.
#pragma once

#include <librdkafka/rdkafka.h>

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace patchstream::kafka {

// What librdkafka reported, flattened into a value: the loop decides from the flags, never from
// strings.
struct KafkaError {
  rd_kafka_resp_err_t code = RD_KAFKA_RESP_ERR_UNKNOWN;
  std::string message;
  bool fatal = false;      // the client instance is unusable: exit and let the supervisor restart
  bool retriable = false;  // the same call may succeed if repeated
  bool txn_requires_abort = false;  // abort the transaction, rewind the consumer, go on

  // Takes ownership of `error` (destroys it).
  static KafkaError from(rd_kafka_error_t* error);
  // A response code; `context` says what was attempted. ERR__FATAL is resolved to the underlying
  // fatal error of `rk`.
  static KafkaError from_code(rd_kafka_resp_err_t code, std::string_view context,
                              rd_kafka_t* rk = nullptr);
  // An error of the wrapper itself (bad argument, bad configuration).
  static KafkaError invalid(std::string message);

  std::string name() const;       // e.g. "_QUEUE_FULL", "PRODUCER_FENCED"
  std::string to_string() const;  // "NAME: message [fatal]"
  bool queue_full() const { return code == RD_KAFKA_RESP_ERR__QUEUE_FULL; }
  bool timed_out() const { return code == RD_KAFKA_RESP_ERR__TIMED_OUT; }
};

// A value or the error that prevented it; no exceptions on the per-event paths.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(KafkaError error) : v_(std::move(error)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const KafkaError& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, KafkaError> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(KafkaError error) : error_(std::move(error)) {}

  bool ok() const { return !error_; }
  explicit operator bool() const { return ok(); }
  const KafkaError& error() const { return *error_; }

 private:
  std::optional<KafkaError> error_;
};

using Status = Result<void>;

}  // namespace patchstream::kafka
