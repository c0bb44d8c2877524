// An immutable set of flags and the per-event decision made against it (no locks, no allocation).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "flags/flag_definition.h"

namespace patchstream::flags {

// Which rule decided, in the order they are checked.
enum class Rule : std::uint8_t {
  unknown_flag,    // no such flag: legacy
  disabled,        // enabled == false: legacy
  denied,          // user in deny_users: legacy
  allowed,         // user in allow_users: pipeline
  percentage_in,   // bucket <= percentage: pipeline
  percentage_out,  // bucket > percentage (or percentage 0): legacy
};

std::string_view to_string(Rule rule) noexcept;

struct Decision {
  bool pipeline = false;
  Rule rule = Rule::unknown_flag;
  std::uint8_t bucket = 0;      // 1..100; 0 only for an unknown flag
  std::uint8_t percentage = 0;  // the flag's percentage when decided
};

class FlagSnapshot {
 public:
  FlagSnapshot() = default;
  // Normalizes each definition; a later duplicate name replaces an earlier one.
  explicit FlagSnapshot(std::vector<FlagDefinition> flags);

  const FlagDefinition* find(std::string_view name) const noexcept;
  std::span<const FlagDefinition> flags() const noexcept { return flags_; }  // sorted by name

 private:
  std::vector<FlagDefinition> flags_;
};

Decision evaluate_flag(const FlagSnapshot& snapshot, std::string_view flag_name,
                       std::string_view user_id) noexcept;
// The same decision for one definition (must be normalized).
Decision evaluate_flag(const FlagDefinition& flag, std::string_view user_id) noexcept;

}  // namespace patchstream::flags
