// JSON forms of flags, audit records and change requests (admin path only, never per event).
#pragma once

#include <variant>

#include <nlohmann/json.hpp>

#include "flags/flag_change.h"
#include "flags/flag_store.h"

namespace patchstream::flags {

nlohmann::json to_json(const FlagDefinition& flag);
nlohmann::json to_json(const AuditRecord& record);

// The stored form (also what GET returns). Checks every field.
std::variant<FlagDefinition, FieldError> definition_from_json(const nlohmann::json& json);
std::variant<AuditRecord, FieldError> audit_record_from_json(const nlohmann::json& json);

// A request body: a JSON object of FlagFields. Unknown fields are refused so that a typo such as
// "percent" is an error, not a silent no-op; "updated_at"/"updated_by" are ignored so a GET answer
// can be edited and sent back.
std::variant<FlagFields, FieldError> parse_flag_fields(const nlohmann::json& body);

}  // namespace patchstream::flags
