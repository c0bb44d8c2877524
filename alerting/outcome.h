// The vocabulary every observer of a batch shares: which route served it and how it ended.
#pragma once

#include <cstdint>
#include <string_view>

namespace patchstream::alerting {

enum class Route : std::uint8_t { pipeline, legacy };
inline constexpr int kRouteCount = 2;

// failed: a processing error (an internal guard); dead_lettered: routed, but its result could not
// be published (result_too_large). Input dead-lettered before routing has no route and no status.
enum class BatchStatus : std::uint8_t { applied, rejected, failed, forwarded, dead_lettered };
inline constexpr int kBatchStatusCount = 5;

std::string_view route_name(Route route) noexcept;
std::string_view status_name(BatchStatus status) noexcept;

// SPEC §4: the error rate is (rejected + failed) / all; a batch whose result was dead-lettered
// was not answered either, so it counts as failed.
constexpr bool is_error(BatchStatus status) noexcept {
  return status == BatchStatus::rejected || status == BatchStatus::failed ||
         status == BatchStatus::dead_lettered;
}

}  // namespace patchstream::alerting
