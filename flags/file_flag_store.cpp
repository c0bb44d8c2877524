// File-backed FlagStore with crash recovery by history replay.
#include "flags/file_flag_store.h"

#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>

#include "flags/atomic_file.h"
#include "flags/flag_json.h"

namespace patchstream::flags {
namespace {

std::string read_whole_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

}  // namespace

FileFlagStore::FileFlagStore(FileFlagStoreConfig config) : config_(std::move(config)) {
  if (config_.directory.empty()) throw std::invalid_argument("flag store directory is empty");
  std::filesystem::create_directories(config_.directory);
}

void FileFlagStore::read_history() {
  const auto path = history_path();
  if (!std::filesystem::exists(path)) return;
  std::string contents = read_whole_file(path);
  // A crash mid-append can leave a last line without its newline: cut it off so that the next
  // append starts on a fresh line.
  if (!contents.empty() && contents.back() != '\n') {
    const auto keep = contents.rfind('\n');
    const std::size_t size = keep == std::string::npos ? 0 : keep + 1;
    std::cerr << "patchstream flags: dropping an incomplete last line of " << path << "\n";
    std::filesystem::resize_file(path, size);
    contents.resize(size);
  }
  std::istringstream lines(contents);
  std::string line;
  std::size_t number = 0;
  while (std::getline(lines, line)) {
    ++number;
    if (line.empty()) continue;
    auto json = nlohmann::json::parse(line, nullptr, false);
    auto record = json.is_discarded()
                      ? std::variant<AuditRecord, FieldError>(FieldError{"", "not JSON"})
                      : audit_record_from_json(json);
    if (auto* error = std::get_if<FieldError>(&record)) {
      ++skipped_history_lines_;
      std::cerr << "patchstream flags: skipping " << path << " line " << number << ": "
                << error->field << " " << error->message << "\n";
      continue;
    }
    history_.push_back(std::get<AuditRecord>(std::move(record)));
  }
}

std::vector<FlagDefinition> FileFlagStore::load() {
  std::lock_guard lock(mutex_);
  current_.clear();
  history_.clear();
  skipped_history_lines_ = 0;
  const auto state = state_path();
  if (std::filesystem::exists(state)) {
    auto json = nlohmann::json::parse(read_whole_file(state), nullptr, false);
    if (json.is_discarded() || !json.is_object() || !json.contains("flags") ||
        !json["flags"].is_array()) {
      throw std::runtime_error(state.string() + " is not a flag state document");
    }
    for (const auto& item : json["flags"]) {
      auto flag = definition_from_json(item);
      if (auto* error = std::get_if<FieldError>(&flag)) {
        throw std::runtime_error(state.string() + ": " + error->field + " " + error->message);
      }
      auto& definition = std::get<FlagDefinition>(flag);
      current_[definition.name] = definition;
    }
  }
  read_history();
  bool replayed = false;
  for (const auto& record : history_) {
    auto it = current_.find(record.flag);
    if (it == current_.end() || it->second.revision < record.revision) {
      current_[record.flag] = record.after;
      replayed = true;
    }
  }
  if (replayed) {
    if (auto error = write_state()) throw std::runtime_error(*error);
  }
  std::vector<FlagDefinition> flags;
  for (const auto& [name, flag] : current_)
    flags.push_back(flag);
  return flags;
}

std::optional<std::string> FileFlagStore::write_state() const {
  nlohmann::json flags = nlohmann::json::array();
  for (const auto& [name, flag] : current_)
    flags.push_back(to_json(flag));
  const std::string contents = nlohmann::json{{"flags", flags}}.dump(2) + "\n";
  return replace_file_atomically(state_path(), contents, config_.before_state_rename);
}

std::optional<std::string> FileFlagStore::append(const AuditRecord& record) {
  std::lock_guard lock(mutex_);
  if (auto error = append_durably(history_path(), to_json(record).dump() + "\n")) return error;
  history_.push_back(record);
  current_[record.flag] = record.after;
  if (auto error = write_state()) {
    // The history line is durable, so the next load() replays it: the change stands.
    std::cerr << "patchstream flags: state checkpoint not written (" << *error
              << "); the history holds the change and the next start replays it\n";
  }
  return std::nullopt;
}

std::vector<AuditRecord> FileFlagStore::history(std::string_view flag) const {
  std::lock_guard lock(mutex_);
  return records_of(history_, flag);
}

}  // namespace patchstream::flags
