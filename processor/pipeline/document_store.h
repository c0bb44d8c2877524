// Stateful mode: the latest revision and lines of each document, in memory.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "applier.h"

namespace patchstream {

class DocumentStore {
 public:
  // The stored document, or the empty document at revision 0 when the id is new.
  StoredDocument find(std::string_view document_id) const;
  // Keeps a copy of an applied batch's lines as the document's new state.
  void commit(std::string_view document_id, std::int64_t revision,
              std::span<const std::string_view> lines);
  std::size_t size() const noexcept { return documents_.size(); }

 private:
  struct Document {
    std::int64_t revision = 0;
    std::vector<std::string> lines;
    std::vector<std::string_view> views;
  };
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  std::unordered_map<std::string, Document, Hash, std::equal_to<>> documents_;
};

}  // namespace patchstream
