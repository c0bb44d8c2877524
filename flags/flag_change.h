// A requested change to one flag and what became of it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "flags/flag_definition.h"

namespace patchstream::flags {

// Fields a request names; absent ones are left as they are (update) or take defaults (replace).
struct FlagFields {
  std::optional<std::string> name;
  std::optional<bool> enabled;
  std::optional<std::uint8_t> percentage;
  std::optional<std::string> group_id;
  std::optional<std::vector<std::string>> allow_users;
  std::optional<std::vector<std::string>> deny_users;
  std::optional<bool> auto_rollback;
  std::optional<std::uint64_t> revision;  // the revision the change is based on
  std::optional<std::string> reason;
};

enum class ChangeKind {
  replace,   // the whole definition (creates the flag when absent)
  update,    // only the given fields of an existing flag
  rollback,  // percentage 0 at once, whatever the revision
};

struct ChangeRequest {
  ChangeKind kind = ChangeKind::update;
  std::string name;
  FlagFields fields;
  std::string actor = "admin-api";
  // The rollout controller's plan state (FlagDefinition::rollout); never taken from an API body.
  std::optional<std::string> rollout;
};

enum class ChangeStatus {
  applied,
  invalid,         // a field is malformed (HTTP 400)
  not_found,       // update or rollback of an unknown flag (404)
  stale_revision,  // based on an older revision, or names none (409)
  storage_failed,  // the store could not record it; nothing changed (500)
};

struct ChangeOutcome {
  ChangeStatus status = ChangeStatus::applied;
  std::string error;   // short code, e.g. "stale_revision"
  std::string detail;  // for people
  std::string field;   // the rejected field, for ChangeStatus::invalid
  std::uint64_t current_revision = 0;
  std::optional<FlagDefinition> flag;  // the definition after an applied change
};

}  // namespace patchstream::flags
