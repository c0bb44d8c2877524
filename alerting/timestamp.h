// RFC 3339 timestamps for event fields (startsAt, window_start, ...).
#pragma once

#include <chrono>
#include <string>

namespace patchstream::alerting {

using WallTime = std::chrono::system_clock::time_point;

// UTC with milliseconds, e.g. 2025-06-02T09:14:10.250Z.
std::string format_rfc3339(WallTime time);

}  // namespace patchstream::alerting
