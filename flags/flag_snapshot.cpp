// Snapshot construction (sorted for binary search) and the decision order of SPEC §3.
#include "flags/flag_snapshot.h"

#include <algorithm>
#include <functional>

#include "flags/bucket.h"

namespace patchstream::flags {
namespace {

bool contains(const std::vector<std::string>& sorted, std::string_view user) noexcept {
  // std::less<> compares std::string with std::string_view directly: no temporary string.
  return std::binary_search(sorted.begin(), sorted.end(), user, std::less<>{});
}

}  // namespace

std::string_view to_string(Rule rule) noexcept {
  switch (rule) {
    case Rule::unknown_flag:
      return "unknown_flag";
    case Rule::disabled:
      return "disabled";
    case Rule::denied:
      return "denied";
    case Rule::allowed:
      return "allowed";
    case Rule::percentage_in:
      return "percentage_in";
    case Rule::percentage_out:
      return "percentage_out";
  }
  return "unknown";
}

FlagSnapshot::FlagSnapshot(std::vector<FlagDefinition> flags) : flags_(std::move(flags)) {
  for (auto& flag : flags_)
    normalize(flag);
  std::stable_sort(flags_.begin(), flags_.end(),
                   [](const auto& a, const auto& b) { return a.name < b.name; });
  // Keep the last of equal names: reverse-unique keeps the first of each run in reversed order.
  std::reverse(flags_.begin(), flags_.end());
  flags_.erase(std::unique(flags_.begin(), flags_.end(),
                           [](const auto& a, const auto& b) { return a.name == b.name; }),
               flags_.end());
  std::reverse(flags_.begin(), flags_.end());
}

const FlagDefinition* FlagSnapshot::find(std::string_view name) const noexcept {
  auto it = std::lower_bound(flags_.begin(), flags_.end(), name,
                             [](const FlagDefinition& flag, std::string_view key) {
                               return std::string_view(flag.name) < key;
                             });
  if (it == flags_.end() || it->name != name) return nullptr;
  return &*it;
}

Decision evaluate_flag(const FlagDefinition& flag, std::string_view user_id) noexcept {
  Decision decision;
  decision.percentage = flag.percentage;
  decision.bucket = rollout_bucket(flag.group_id, user_id);
  if (!flag.enabled) {
    decision.rule = Rule::disabled;
  } else if (contains(flag.deny_users, user_id)) {
    decision.rule = Rule::denied;
  } else if (contains(flag.allow_users, user_id)) {
    decision.rule = Rule::allowed;
    decision.pipeline = true;
  } else if (flag.percentage > 0 && decision.bucket <= flag.percentage) {
    decision.rule = Rule::percentage_in;
    decision.pipeline = true;
  } else {
    decision.rule = Rule::percentage_out;
  }
  return decision;
}

Decision evaluate_flag(const FlagSnapshot& snapshot, std::string_view flag_name,
                       std::string_view user_id) noexcept {
  const FlagDefinition* flag = snapshot.find(flag_name);
  if (flag == nullptr) return Decision{};
  return evaluate_flag(*flag, user_id);
}

}  // namespace patchstream::flags
