// In-memory FlagStore.
#include "flags/memory_flag_store.h"

namespace patchstream::flags {

std::vector<FlagDefinition> MemoryFlagStore::load() {
  std::lock_guard lock(mutex_);
  std::vector<FlagDefinition> flags;
  for (const auto& [name, flag] : current_)
    flags.push_back(flag);
  return flags;
}

std::optional<std::string> MemoryFlagStore::append(const AuditRecord& record) {
  std::lock_guard lock(mutex_);
  history_.push_back(record);
  current_[record.flag] = record.after;
  return std::nullopt;
}

std::vector<AuditRecord> MemoryFlagStore::history(std::string_view flag) const {
  std::lock_guard lock(mutex_);
  return records_of(history_, flag);
}

}  // namespace patchstream::flags
