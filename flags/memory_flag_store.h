// A FlagStore that keeps everything in memory: for tests and for running without a state directory.
#pragma once

#include <map>
#include <mutex>

#include "flags/flag_store.h"

namespace patchstream::flags {

class MemoryFlagStore final : public FlagStore {
 public:
  std::vector<FlagDefinition> load() override;
  std::optional<std::string> append(const AuditRecord& record) override;
  std::vector<AuditRecord> history(std::string_view flag) const override;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, FlagDefinition, std::less<>> current_;
  std::vector<AuditRecord> history_;
};

}  // namespace patchstream::flags
