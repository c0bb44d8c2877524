// Executor layer: walks the descending patch list backwards so the snapshot is read once, in order.
#include "executor.h"

namespace patchstream {

void execute(std::span<const std::string_view> snapshot, std::span<const Patch> patches,
             std::span<const std::string_view> patch_lines, std::vector<std::string_view>& out) {
  out.clear();
  std::size_t added = 0, removed = 0;
  for (const Patch& p : patches) {
    added += p.lines_count;
    if (p.op != Op::insert) removed += p.end - p.line + 1;
  }
  out.reserve(snapshot.size() + added - removed);

  std::size_t next = 0;  // 0-based index of the next snapshot line not yet copied or dropped
  for (auto it = patches.rbegin(); it != patches.rend(); ++it) {
    const Patch& p = *it;
    const std::size_t first = p.line - 1;
    out.insert(out.end(), snapshot.begin() + next, snapshot.begin() + first);
    next = first;
    const auto lines = patch_lines.subspan(p.lines_begin, p.lines_count);
    out.insert(out.end(), lines.begin(), lines.end());
    if (p.op != Op::insert) next = p.end;
  }
  out.insert(out.end(), snapshot.begin() + next, snapshot.end());
}

}  // namespace patchstream
