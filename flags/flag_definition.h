// What a rollout flag is (SPEC §3), and the checks every stored or requested definition passes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace patchstream::flags {

struct FlagDefinition {
  std::string name;
  bool enabled = false;  // kill switch: false sends every user to legacy
  std::uint8_t percentage = 0;
  std::string group_id;  // bucketing group; empty means "the flag's name" until normalized
  std::vector<std::string> allow_users;  // sorted and unique once normalized
  std::vector<std::string> deny_users;   // sorted and unique once normalized
  bool auto_rollback = false;            // alerting may set percentage to 0 on a CRITICAL alert
  // The flag's rollout plan and its state, a JSON object written only by the rollout controller
  // (processor/rollout/); empty when no plan was ever started. Kept in the flag so that a plan
  // transition and its percentage change are one revision-checked write.
  std::string rollout;
  // Bookkeeping, set by the catalog on every change.
  std::uint64_t revision = 0;
  std::string updated_at;  // RFC 3339, UTC
  std::string updated_by;
  std::string reason;

  bool operator==(const FlagDefinition&) const = default;
};

// A rejected field: `field` names it as it is spelled in JSON.
struct FieldError {
  std::string field;
  std::string message;
};

// Bounds that keep one flag's memory and the admin API's answers small.
inline constexpr std::size_t kMaxFlagNameLength = 128;
inline constexpr std::size_t kMaxIdLength = 256;  // group_id and user ids
inline constexpr std::size_t kMaxListedUsers = 10'000;
inline constexpr std::size_t kMaxReasonLength = 1024;
inline constexpr std::size_t kMaxActorLength = 128;

// Letters, digits, '.', '_', '-'; starts with a letter or digit; at most kMaxFlagNameLength.
std::optional<FieldError> check_flag_name(std::string_view name);
// Non-empty, at most kMaxIdLength bytes, no control characters.
std::optional<FieldError> check_identifier(std::string_view field, std::string_view value);
// At most kMaxLength bytes, no control characters other than tab.
std::optional<FieldError> check_text(std::string_view field, std::string_view value,
                                     std::size_t max_length);

// Every field of a definition, bookkeeping excluded.
std::optional<FieldError> validate(const FlagDefinition& flag);

// Defaults group_id to the name and sorts/deduplicates the user lists, which evaluation relies on.
void normalize(FlagDefinition& flag);

}  // namespace patchstream::flags
