// Names of routes and batch statuses as they appear in metrics, events and alerts.
#include "alerting/outcome.h"

namespace patchstream::alerting {

std::string_view route_name(Route route) noexcept {
  switch (route) {
    case Route::pipeline:
      return "pipeline";
    case Route::legacy:
      return "legacy";
  }
  return "unknown";
}

std::string_view status_name(BatchStatus status) noexcept {
  switch (status) {
    case BatchStatus::applied:
      return "applied";
    case BatchStatus::rejected:
      return "rejected";
    case BatchStatus::failed:
      return "failed";
    case BatchStatus::forwarded:
      return "forwarded";
    case BatchStatus::dead_lettered:
      return "dead_lettered";
  }
  return "unknown";
}

}  // namespace patchstream::alerting
