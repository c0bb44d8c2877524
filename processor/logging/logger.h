// Structured logs: one JSON object per line on stderr (time, level, message, fields).
#pragma once

#include <cstdio>
#include <initializer_list>
#include <mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace patchstream {

struct LogField {
  std::string_view key;
  std::string value;
  bool quoted = true;  // false: value is already JSON (a number or boolean)
  LogField(std::string_view k, std::string_view v) : key(k), value(v) {}
  LogField(std::string_view k, const char* v) : key(k), value(v) {}
  LogField(std::string_view k, const std::string& v) : key(k), value(v) {}
  template <typename Number, typename = std::enable_if_t<std::is_arithmetic_v<Number>>>
  LogField(std::string_view k, Number v) : key(k), value(std::to_string(v)), quoted(false) {}
};

// Thread-safe; never logs secrets or whole documents (callers pass ids and sizes only).
class Logger {
 public:
  // Levels: 0 debug, 1 info, 2 warn, 3 error.
  explicit Logger(int min_level, std::FILE* out = stderr) : min_level_(min_level), out_(out) {}

  void debug(std::string_view message, std::initializer_list<LogField> fields = {}) {
    write(0, message, fields);
  }
  void info(std::string_view message, std::initializer_list<LogField> fields = {}) {
    write(1, message, fields);
  }
  void warn(std::string_view message, std::initializer_list<LogField> fields = {}) {
    write(2, message, fields);
  }
  void error(std::string_view message, std::initializer_list<LogField> fields = {}) {
    write(3, message, fields);
  }

 private:
  void write(int level, std::string_view message, std::initializer_list<LogField> fields);

  int min_level_;
  std::FILE* out_;
  std::mutex mutex_;
};

// RFC 3339 UTC with milliseconds, e.g. 2026-11-23T12:51:00.123Z.
std::string utc_now_rfc3339();

}  // namespace patchstream
