// Structured logs: the line is built outside the lock and written with one fwrite.
#include "logger.h"

#include <chrono>

#include "pipeline/json_text.h"

namespace patchstream {

void Logger::write(int level, std::string_view message, std::initializer_list<LogField> fields) {
  if (level < min_level_) return;
  static constexpr const char* kNames[] = {"debug", "info", "warn", "error"};
  std::string line =
      "{\"time\":\"" + utc_now_rfc3339() + "\",\"level\":\"" + kNames[level] + "\",\"message\":";
  append_json_string(line, message);
  for (const LogField& f : fields) {
    line.push_back(',');
    append_json_string(line, f.key);
    line.push_back(':');
    if (f.quoted)
      append_json_string(line, f.value);
    else
      line.append(f.value);
  }
  line.append("}\n");
  std::lock_guard lock(mutex_);
  std::fwrite(line.data(), 1, line.size(), out_);
  std::fflush(out_);
}

std::string utc_now_rfc3339() {
  const auto now = std::chrono::system_clock::now();
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

}  // namespace patchstream
