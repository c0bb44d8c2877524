// FlagStore on local files: current state as one JSON document, history as JSON lines.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>

#include "flags/flag_store.h"

namespace patchstream::flags {

struct FileFlagStoreConfig {
  std::filesystem::path directory;  // created if absent
  // Runs between writing the new state's temp file and renaming it into place. Tests use it to
  // simulate a crash there; production leaves it empty.
  std::function<void()> before_state_rename;
};

// A change is appended to the history first and the state file is then replaced atomically, so the
// history is the log and the state a checkpoint: load() replays history records newer than the
// state, and a crash at any point loses at most the change being made, never an earlier one.
// Single process only (no file locking between processes).
class FileFlagStore final : public FlagStore {
 public:
  explicit FileFlagStore(FileFlagStoreConfig config);

  std::vector<FlagDefinition> load() override;
  std::optional<std::string> append(const AuditRecord& record) override;
  std::vector<AuditRecord> history(std::string_view flag) const override;

  std::filesystem::path state_path() const { return config_.directory / "flags-state.json"; }
  std::filesystem::path history_path() const { return config_.directory / "flags-history.jsonl"; }
  // History lines that could not be read at load (reported, then skipped).
  std::size_t skipped_history_lines() const { return skipped_history_lines_; }

 private:
  std::optional<std::string> write_state() const;
  void read_history();

  FileFlagStoreConfig config_;
  mutable std::mutex mutex_;
  std::map<std::string, FlagDefinition, std::less<>> current_;
  std::vector<AuditRecord> history_;
  std::size_t skipped_history_lines_ = 0;
};

}  // namespace patchstream::flags
