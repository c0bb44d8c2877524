// Change rules (revisions, the runbook's rollback exception), auditing and snapshot publication.
#include "flags/flag_catalog.h"

#include <cstdio>
#include <ctime>
#include <stdexcept>

namespace patchstream::flags {
namespace {

ChangeOutcome refused(ChangeStatus status, std::string error, std::string detail,
                      std::uint64_t current_revision = 0) {
  ChangeOutcome outcome;
  outcome.status = status;
  outcome.error = std::move(error);
  outcome.detail = std::move(detail);
  outcome.current_revision = current_revision;
  return outcome;
}

ChangeOutcome invalid(const FieldError& error) {
  const std::string detail =
      error.field.empty() ? error.message : error.field + " " + error.message;
  auto outcome = refused(ChangeStatus::invalid, "invalid_field", detail);
  outcome.field = error.field;
  return outcome;
}

// Sets percentage 0 and nothing that could widen exposure: safe to apply whatever the revision.
bool is_rollback_only(const FlagFields& fields) {
  return fields.percentage == std::uint8_t{0} && !fields.enabled && !fields.group_id &&
         !fields.allow_users && !fields.deny_users && !fields.auto_rollback;
}

}  // namespace

std::string format_utc(std::chrono::system_clock::time_point time) {
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(millis / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[40];
  const std::size_t length = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  char fraction[8];
  std::snprintf(fraction, sizeof fraction, ".%03dZ", static_cast<int>(millis % 1000));
  return std::string(text, length) + fraction;
}

FlagCatalog::FlagCatalog(FlagStore& store, FlagRegistry& registry, WallClock clock)
    : store_(store), registry_(registry), clock_(std::move(clock)) {
  if (!clock_) clock_ = [] { return std::chrono::system_clock::now(); };
  std::lock_guard lock(mutex_);
  for (auto& flag : store_.load()) {
    normalize(flag);
    flags_[flag.name] = std::move(flag);
  }
  publish_locked();
  // A shared store reports every definition, this instance's own writes included: an older one is
  // ignored, and so is the one already held. The same revision with other content means two
  // instances raced (docs/KAFKA-FLAG-STORE.md); the store delivers them in its order, so taking the
  // later one makes every instance end with what the store keeps.
  store_.on_external_change([this](const FlagDefinition& changed) {
    FlagDefinition flag = changed;
    normalize(flag);
    std::lock_guard lock(mutex_);
    auto it = flags_.find(flag.name);
    if (it != flags_.end() && (it->second.revision > flag.revision ||
                               (it->second.revision == flag.revision && it->second == flag))) {
      return;
    }
    flags_[flag.name] = std::move(flag);
    publish_locked();
  });
}

FlagCatalog::~FlagCatalog() {
  store_.on_external_change({});
}

std::string FlagCatalog::now() const {
  return format_utc(clock_());
}

void FlagCatalog::publish_locked() {
  std::vector<FlagDefinition> flags;
  flags.reserve(flags_.size());
  for (const auto& [name, flag] : flags_)
    flags.push_back(flag);
  registry_.publish(std::make_shared<const FlagSnapshot>(std::move(flags)));
}

std::vector<std::string> FlagCatalog::declare(const std::vector<FlagDefinition>& flags,
                                              std::string_view actor) {
  std::vector<std::string> created;
  std::lock_guard lock(mutex_);
  for (FlagDefinition flag : flags) {
    if (auto error = validate(flag)) {
      throw std::invalid_argument("declared flag '" + flag.name + "': " + error->field + " " +
                                  error->message);
    }
    if (flags_.contains(flag.name)) continue;
    normalize(flag);
    flag.revision = 1;
    flag.updated_at = now();
    flag.updated_by = std::string(actor);
    if (flag.reason.empty()) flag.reason = "declared in config";
    AuditRecord record{flag.name,   1,         flag.updated_at, flag.updated_by,
                       flag.reason, "declare", std::nullopt,    flag};
    if (auto error = store_.append(record)) {
      // Another instance declared it first: it exists, and its definition arrives as an external
      // change.
      if (error->starts_with(kRevisionConflict)) continue;
      throw std::runtime_error("cannot store declared flag '" + flag.name + "': " + *error);
    }
    created.push_back(flag.name);
    flags_[flag.name] = std::move(flag);
  }
  if (!created.empty()) publish_locked();
  return created;
}

ChangeOutcome FlagCatalog::change(const ChangeRequest& request) {
  if (auto error = check_flag_name(request.name)) return invalid(*error);
  const FlagFields& fields = request.fields;
  if (fields.name && *fields.name != request.name) {
    return invalid(FieldError{"name", "must match the flag named in the path"});
  }
  std::string actor = request.actor.empty() ? std::string("admin-api") : request.actor;
  if (auto error = check_text("actor", actor, kMaxActorLength)) return invalid(*error);

  std::lock_guard lock(mutex_);
  auto existing = flags_.find(request.name);
  const bool exists = existing != flags_.end();
  const std::uint64_t current_revision = exists ? existing->second.revision : 0;
  const bool rollback_only = request.kind == ChangeKind::rollback ||
                             (request.kind == ChangeKind::update && is_rollback_only(fields));

  if (!exists && request.kind != ChangeKind::replace) {
    return refused(ChangeStatus::not_found, "unknown_flag", "no flag named '" + request.name + "'");
  }
  if (!rollback_only) {
    if (exists && !fields.revision) {
      return refused(ChangeStatus::stale_revision, "revision_required",
                     "name the revision this change is based on (current revision " +
                         std::to_string(current_revision) + ")",
                     current_revision);
    }
    if (fields.revision.value_or(0) != current_revision) {
      return refused(ChangeStatus::stale_revision, "stale_revision",
                     "based on revision " + std::to_string(*fields.revision) +
                         " but the flag is at revision " + std::to_string(current_revision),
                     current_revision);
    }
  }

  FlagDefinition after;
  std::string action;
  switch (request.kind) {
    case ChangeKind::replace:
      after.name = request.name;
      after.enabled = fields.enabled.value_or(false);
      after.percentage = fields.percentage.value_or(0);
      after.group_id = fields.group_id.value_or(request.name);
      after.allow_users = fields.allow_users.value_or(std::vector<std::string>{});
      after.deny_users = fields.deny_users.value_or(std::vector<std::string>{});
      after.auto_rollback = fields.auto_rollback.value_or(false);
      action = exists ? "replace" : "create";
      break;
    case ChangeKind::update:
      after = existing->second;
      if (fields.enabled) after.enabled = *fields.enabled;
      if (fields.percentage) after.percentage = *fields.percentage;
      if (fields.group_id) after.group_id = *fields.group_id;
      if (fields.allow_users) after.allow_users = *fields.allow_users;
      if (fields.deny_users) after.deny_users = *fields.deny_users;
      if (fields.auto_rollback) after.auto_rollback = *fields.auto_rollback;
      if (request.rollout) after.rollout = *request.rollout;
      action = rollback_only ? "rollback" : "update";
      break;
    case ChangeKind::rollback:
      after = existing->second;
      after.percentage = 0;
      action = "rollback";
      break;
  }
  after.reason = fields.reason.value_or(action == "rollback" ? "rollback" : "");
  after.revision = current_revision + 1;
  after.updated_at = now();
  after.updated_by = actor;
  normalize(after);
  if (auto error = validate(after)) return invalid(*error);

  AuditRecord record{after.name,   after.revision, after.updated_at, after.updated_by,
                     after.reason, action,         std::nullopt,     after};
  if (exists) record.before = existing->second;
  if (auto error = store_.append(record)) {
    // The shared store is ahead of this instance (at least at after.revision): stale, like any
    // other revision mismatch.
    if (error->starts_with(kRevisionConflict)) {
      return refused(ChangeStatus::stale_revision, "stale_revision", *error, after.revision);
    }
    return refused(ChangeStatus::storage_failed, "storage_failed", *error, current_revision);
  }
  flags_[after.name] = after;
  publish_locked();
  ChangeOutcome outcome;
  outcome.current_revision = after.revision;
  outcome.flag = std::move(after);
  return outcome;
}

ChangeOutcome FlagCatalog::rollback(std::string_view name, std::string_view reason,
                                    std::string_view actor) {
  ChangeRequest request;
  request.kind = ChangeKind::rollback;
  request.name = std::string(name);
  if (!reason.empty()) request.fields.reason = std::string(reason);
  request.actor = std::string(actor);
  return change(request);
}

std::vector<FlagDefinition> FlagCatalog::list() const {
  std::lock_guard lock(mutex_);
  std::vector<FlagDefinition> flags;
  for (const auto& [name, flag] : flags_)
    flags.push_back(flag);
  return flags;
}

std::optional<FlagDefinition> FlagCatalog::get(std::string_view name) const {
  std::lock_guard lock(mutex_);
  auto it = flags_.find(name);
  if (it == flags_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::vector<AuditRecord>> FlagCatalog::history(std::string_view name,
                                                             std::size_t limit) const {
  std::lock_guard lock(mutex_);
  auto records = store_.history(name);
  if (records.empty() && !flags_.contains(name)) return std::nullopt;
  if (limit > 0 && records.size() > limit) {
    records.erase(records.begin(), records.end() - static_cast<std::ptrdiff_t>(limit));
  }
  return records;
}

}  // namespace patchstream::flags
