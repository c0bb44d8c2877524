// Stateful mode: copies applied documents so they outlive the event buffers they came from.
#include "document_store.h"

namespace patchstream {

StoredDocument DocumentStore::find(std::string_view document_id) const {
  auto it = documents_.find(document_id);
  if (it == documents_.end()) return {};
  return {it->second.revision, it->second.views};
}

void DocumentStore::commit(std::string_view document_id, std::int64_t revision,
                           std::span<const std::string_view> lines) {
  auto it = documents_.find(document_id);
  if (it == documents_.end()) it = documents_.emplace(std::string(document_id), Document{}).first;
  Document& doc = it->second;
  // The new lines may be views into the old ones: build the copy before replacing.
  std::vector<std::string> copy(lines.begin(), lines.end());
  doc.lines = std::move(copy);
  doc.views.assign(doc.lines.begin(), doc.lines.end());
  doc.revision = revision;
}

}  // namespace patchstream
