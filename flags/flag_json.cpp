// JSON conversion with a clear FieldError for every malformed field.
#include "flags/flag_json.h"

#include <algorithm>
#include <array>
#include <span>
#include <string_view>

namespace patchstream::flags {
namespace {

using nlohmann::json;

FieldError type_error(std::string_view field, std::string_view expected) {
  return FieldError{std::string(field), "must be " + std::string(expected)};
}

std::optional<FieldError> read_bool(const json& value, std::string_view field,
                                    std::optional<bool>& out) {
  if (!value.is_boolean()) return type_error(field, "true or false");
  out = value.get<bool>();
  return std::nullopt;
}

std::optional<FieldError> read_string(const json& value, std::string_view field,
                                      std::optional<std::string>& out) {
  if (!value.is_string()) return type_error(field, "a string");
  out = value.get<std::string>();
  return std::nullopt;
}

std::optional<FieldError> read_users(const json& value, std::string_view field,
                                     std::optional<std::vector<std::string>>& out) {
  if (!value.is_array()) return type_error(field, "an array of user id strings");
  if (value.size() > kMaxListedUsers) {
    return FieldError{std::string(field),
                      "at most " + std::to_string(kMaxListedUsers) + " users may be listed"};
  }
  std::vector<std::string> users;
  users.reserve(value.size());
  for (const auto& user : value) {
    if (!user.is_string()) return type_error(field, "an array of user id strings");
    users.push_back(user.get<std::string>());
    if (auto error = check_identifier(field, users.back())) return error;
  }
  out = std::move(users);
  return std::nullopt;
}

std::optional<FieldError> read_percentage(const json& value, std::optional<std::uint8_t>& out) {
  // Only JSON integers: 12.5, "25" and true are refused rather than truncated or coerced.
  if (value.is_number_unsigned() && value.get<std::uint64_t>() <= 100) {
    out = static_cast<std::uint8_t>(value.get<std::uint64_t>());
    return std::nullopt;
  }
  if (value.is_number_integer() && value.get<std::int64_t>() >= 0 &&
      value.get<std::int64_t>() <= 100) {
    out = static_cast<std::uint8_t>(value.get<std::int64_t>());
    return std::nullopt;
  }
  return FieldError{"percentage", "must be an integer from 0 to 100"};
}

std::optional<FieldError> read_revision(const json& value, std::string_view field,
                                        std::optional<std::uint64_t>& out) {
  if (value.is_number_unsigned() || (value.is_number_integer() && value.get<std::int64_t>() >= 0)) {
    out = value.get<std::uint64_t>();
    return std::nullopt;
  }
  return type_error(field, "a non-negative integer");
}

// Reads the request fields of `object`; keys in `extra` are skipped (the caller reads them).
std::variant<FlagFields, FieldError> read_fields(const json& object,
                                                 std::span<const std::string_view> extra) {
  if (!object.is_object()) return FieldError{"", "the body must be a JSON object"};
  FlagFields fields;
  for (const auto& [key, value] : object.items()) {
    std::optional<FieldError> error;
    if (key == "name") {
      error = read_string(value, key, fields.name);
      if (!error) error = check_flag_name(*fields.name);
    } else if (key == "enabled") {
      error = read_bool(value, key, fields.enabled);
    } else if (key == "percentage") {
      error = read_percentage(value, fields.percentage);
    } else if (key == "group_id") {
      error = read_string(value, key, fields.group_id);
      if (!error) error = check_identifier(key, *fields.group_id);
    } else if (key == "allow_users") {
      error = read_users(value, key, fields.allow_users);
    } else if (key == "deny_users") {
      error = read_users(value, key, fields.deny_users);
    } else if (key == "auto_rollback") {
      error = read_bool(value, key, fields.auto_rollback);
    } else if (key == "revision") {
      error = read_revision(value, key, fields.revision);
    } else if (key == "reason") {
      error = read_string(value, key, fields.reason);
      if (!error) error = check_text(key, *fields.reason, kMaxReasonLength);
    } else if (std::find(extra.begin(), extra.end(), key) == extra.end()) {
      error = FieldError{key, "is not a flag field"};
    }
    if (error) return *error;
  }
  return fields;
}

std::optional<FieldError> read_bookkeeping_text(const json& object, std::string_view key,
                                                std::string& out) {
  auto it = object.find(key);
  if (it == object.end()) return std::nullopt;
  std::optional<std::string> value;
  if (auto error = read_string(*it, key, value)) return error;
  if (auto error = check_text(key, *value, kMaxReasonLength)) return error;
  out = std::move(*value);
  return std::nullopt;
}

constexpr std::array<std::string_view, 3> kBookkeeping = {"updated_at", "updated_by", "rollout"};

}  // namespace

nlohmann::json to_json(const FlagDefinition& flag) {
  return json{{"name", flag.name},
              {"enabled", flag.enabled},
              {"percentage", flag.percentage},
              {"group_id", flag.group_id.empty() ? flag.name : flag.group_id},
              {"allow_users", flag.allow_users},
              {"deny_users", flag.deny_users},
              {"auto_rollback", flag.auto_rollback},
              {"revision", flag.revision},
              {"updated_at", flag.updated_at},
              {"updated_by", flag.updated_by},
              {"reason", flag.reason},
              {"rollout", flag.rollout.empty() ? json(nullptr) : json::parse(flag.rollout)}};
}

nlohmann::json to_json(const AuditRecord& record) {
  return json{{"flag", record.flag},
              {"revision", record.revision},
              {"at", record.at},
              {"by", record.by},
              {"reason", record.reason},
              {"action", record.action},
              {"before", record.before ? to_json(*record.before) : json(nullptr)},
              {"after", to_json(record.after)}};
}

std::variant<FlagDefinition, FieldError> definition_from_json(const nlohmann::json& object) {
  auto parsed = read_fields(object, kBookkeeping);
  if (auto* error = std::get_if<FieldError>(&parsed)) return *error;
  auto& fields = std::get<FlagFields>(parsed);
  if (!fields.name) return FieldError{"name", "is required"};
  FlagDefinition flag;
  flag.name = *fields.name;
  flag.enabled = fields.enabled.value_or(false);
  flag.percentage = fields.percentage.value_or(0);
  flag.group_id = fields.group_id.value_or("");
  flag.allow_users = fields.allow_users.value_or(std::vector<std::string>{});
  flag.deny_users = fields.deny_users.value_or(std::vector<std::string>{});
  flag.auto_rollback = fields.auto_rollback.value_or(false);
  flag.revision = fields.revision.value_or(0);
  flag.reason = fields.reason.value_or("");
  if (auto error = read_bookkeeping_text(object, "updated_at", flag.updated_at)) return *error;
  if (auto error = read_bookkeeping_text(object, "updated_by", flag.updated_by)) return *error;
  if (auto it = object.find("rollout"); it != object.end() && !it->is_null()) {
    if (!it->is_object()) return FieldError{"rollout", "must be an object"};
    flag.rollout = it->dump();
  }
  normalize(flag);
  return flag;
}

std::variant<AuditRecord, FieldError> audit_record_from_json(const nlohmann::json& object) {
  if (!object.is_object()) return FieldError{"", "an audit record must be a JSON object"};
  AuditRecord record;
  auto after_it = object.find("after");
  if (after_it == object.end()) return FieldError{"after", "is required"};
  auto after = definition_from_json(*after_it);
  if (auto* error = std::get_if<FieldError>(&after)) return *error;
  record.after = std::get<FlagDefinition>(std::move(after));
  if (auto it = object.find("before"); it != object.end() && !it->is_null()) {
    auto before = definition_from_json(*it);
    if (auto* error = std::get_if<FieldError>(&before)) return *error;
    record.before = std::get<FlagDefinition>(std::move(before));
  }
  record.flag = record.after.name;
  record.revision = record.after.revision;
  for (auto [key, out] : {std::pair<std::string_view, std::string*>{"at", &record.at},
                          {"by", &record.by},
                          {"reason", &record.reason},
                          {"action", &record.action}}) {
    if (auto error = read_bookkeeping_text(object, key, *out)) return *error;
  }
  return record;
}

std::variant<FlagFields, FieldError> parse_flag_fields(const nlohmann::json& body) {
  return read_fields(body, kBookkeeping);
}

}  // namespace patchstream::flags
