// RFC 3339 formatting (std::format's chrono support is not in GCC 12).
#include "alerting/timestamp.h"

#include <cstdio>
#include <ctime>

namespace patchstream::alerting {

std::string format_rfc3339(WallTime time) {
  using namespace std::chrono;
  const auto ms = floor<milliseconds>(time.time_since_epoch()).count();
  const auto seconds = static_cast<std::time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  const auto millis = static_cast<int>(ms - static_cast<long long>(seconds) * 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[96];  // room for any int the compiler can imagine in each field
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return text;
}

}  // namespace patchstream::alerting
