// The durable home of flag definitions and their audit trail, behind an interface so that a file
// store (one instance) and a Kafka store (compacted flags topic + audit topic, many instances) fit.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "flags/flag_definition.h"

namespace patchstream::flags {

// One change: who, when, why, the definition before (none when created) and after.
struct AuditRecord {
  std::string flag;
  std::uint64_t revision = 0;  // == after.revision; before->revision + 1 when before exists
  std::string at;              // RFC 3339, UTC
  std::string by;
  std::string reason;
  std::string action;  // "declare", "create", "replace", "update", "rollback"
  std::optional<FlagDefinition> before;
  FlagDefinition after;

  bool operator==(const AuditRecord&) const = default;
};

// An append() error that starts with this: the store already holds this revision of the flag or a
// newer one (another instance sharing the store changed it first). The change is stale, not lost.
inline constexpr std::string_view kRevisionConflict = "revision conflict: ";

// The records of one flag from a store's whole history, oldest first.
inline std::vector<AuditRecord> records_of(const std::vector<AuditRecord>& all,
                                           std::string_view flag) {
  std::vector<AuditRecord> records;
  for (const auto& record : all) {
    if (record.flag == flag) records.push_back(record);
  }
  return records;
}

class FlagStore {
 public:
  virtual ~FlagStore() = default;

  // Current definitions, recovered from whatever a crash left behind. Called once, at startup;
  // throws when the stored state cannot be read at all (a startup error).
  virtual std::vector<FlagDefinition> load() = 0;

  // Durably records the change: `record.after` becomes the flag's current definition and the record
  // joins its history. Returns an error message (nothing is known to be stored) or nullopt.
  virtual std::optional<std::string> append(const AuditRecord& record) = 0;

  // The flag's changes, oldest first.
  virtual std::vector<AuditRecord> history(std::string_view flag) const = 0;

  // Changes that arrive from elsewhere (another instance writing a shared store). The file store
  // has none; a Kafka store calls `listener` from its consumer thread.
  virtual void on_external_change(std::function<void(const FlagDefinition&)> listener) {
    (void)listener;
  }
};

}  // namespace patchstream::flags
