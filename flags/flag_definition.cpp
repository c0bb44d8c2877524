// Validation and normalization of flag definitions.
#include "flags/flag_definition.h"

#include <algorithm>

namespace patchstream::flags {
namespace {

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

bool has_control_character(std::string_view value, bool allow_tab) {
  return std::any_of(value.begin(), value.end(), [allow_tab](char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && !(allow_tab && c == '\t')) || u == 0x7f;
  });
}

std::optional<FieldError> check_users(std::string_view field,
                                      const std::vector<std::string>& users) {
  if (users.size() > kMaxListedUsers) {
    return FieldError{std::string(field),
                      "at most " + std::to_string(kMaxListedUsers) + " users may be listed"};
  }
  for (const auto& user : users) {
    if (auto error = check_identifier(field, user)) return error;
  }
  return std::nullopt;
}

void sort_unique(std::vector<std::string>& values) {
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
}

}  // namespace

std::optional<FieldError> check_flag_name(std::string_view name) {
  if (name.empty()) return FieldError{"name", "must not be empty"};
  if (name.size() > kMaxFlagNameLength) {
    return FieldError{"name", "at most " + std::to_string(kMaxFlagNameLength) + " characters"};
  }
  if (!std::all_of(name.begin(), name.end(), is_name_char) || name.front() == '.' ||
      name.front() == '-' || name.front() == '_') {
    return FieldError{"name",
                      "only letters, digits, '.', '_' and '-', starting with a letter or digit"};
  }
  return std::nullopt;
}

std::optional<FieldError> check_identifier(std::string_view field, std::string_view value) {
  if (value.empty()) return FieldError{std::string(field), "must not contain empty strings"};
  if (value.size() > kMaxIdLength) {
    return FieldError{std::string(field),
                      "values are at most " + std::to_string(kMaxIdLength) + " bytes"};
  }
  if (has_control_character(value, false)) {
    return FieldError{std::string(field), "values must not contain control characters"};
  }
  return std::nullopt;
}

std::optional<FieldError> check_text(std::string_view field, std::string_view value,
                                     std::size_t max_length) {
  if (value.size() > max_length) {
    return FieldError{std::string(field), "at most " + std::to_string(max_length) + " bytes"};
  }
  if (has_control_character(value, true)) {
    return FieldError{std::string(field), "must not contain control characters"};
  }
  return std::nullopt;
}

std::optional<FieldError> validate(const FlagDefinition& flag) {
  if (auto error = check_flag_name(flag.name)) return error;
  if (flag.percentage > 100) return FieldError{"percentage", "must be an integer from 0 to 100"};
  if (!flag.group_id.empty()) {
    if (auto error = check_identifier("group_id", flag.group_id)) return error;
  }
  if (auto error = check_users("allow_users", flag.allow_users)) return error;
  if (auto error = check_users("deny_users", flag.deny_users)) return error;
  if (auto error = check_text("reason", flag.reason, kMaxReasonLength)) return error;
  return std::nullopt;
}

void normalize(FlagDefinition& flag) {
  if (flag.group_id.empty()) flag.group_id = flag.name;
  sort_unique(flag.allow_users);
  sort_unique(flag.deny_users);
}

}  // namespace patchstream::flags
