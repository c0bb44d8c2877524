// The authority over flags in one process: reads, audited and revision-checked changes, config
// declarations; every change is stored first and then published to the FlagRegistry.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "flags/flag_change.h"
#include "flags/flag_registry.h"
#include "flags/flag_store.h"

namespace patchstream::flags {

using WallClock = std::function<std::chrono::system_clock::time_point()>;

// Thread-safe; changes are serialized. Not on the per-event path (readers use the registry).
class FlagCatalog {
 public:
  // Loads the store (throws if it cannot be read) and publishes the loaded flags.
  FlagCatalog(FlagStore& store, FlagRegistry& registry, WallClock clock = {});
  ~FlagCatalog();
  FlagCatalog(const FlagCatalog&) = delete;
  FlagCatalog& operator=(const FlagCatalog&) = delete;

  // Flags from the config file: each is created when absent and left alone when it exists (the
  // stored state is newer than the config). Returns the names created; throws on an invalid flag.
  std::vector<std::string> declare(const std::vector<FlagDefinition>& flags,
                                   std::string_view actor = "config");

  // Revision rule: a change must name the revision it is based on (for a flag that exists); a
  // different revision is stale (409). The seed runbook's call names none and sets percentage 0:
  // a change that only sets percentage to 0 (and maybe a reason) is applied whatever the revision,
  // as is every rollback.
  ChangeOutcome change(const ChangeRequest& request);
  ChangeOutcome rollback(std::string_view name, std::string_view reason, std::string_view actor);

  std::vector<FlagDefinition> list() const;
  std::optional<FlagDefinition> get(std::string_view name) const;
  // Oldest first; the last `limit` records when limit > 0. nullopt: no such flag.
  std::optional<std::vector<AuditRecord>> history(std::string_view name,
                                                  std::size_t limit = 0) const;

 private:
  void publish_locked();
  std::string now() const;

  FlagStore& store_;
  FlagRegistry& registry_;
  WallClock clock_;
  mutable std::mutex mutex_;
  std::map<std::string, FlagDefinition, std::less<>> flags_;
};

// RFC 3339 UTC with milliseconds, e.g. 2026-11-23T12:51:00.123Z.
std::string format_utc(std::chrono::system_clock::time_point time);

}  // namespace patchstream::flags
