// Invariant enforcer: cheap O(patches + snapshot bytes) checks that only a bug can fail.
#include "invariants.h"

#include <xxhash.h>

namespace patchstream {

SnapshotSeal seal_snapshot(std::span<const std::string_view> snapshot) noexcept {
  // One XXH3 per line, seeded by its position: a changed byte, a moved or resized line all change
  // the sum, and independent lines keep the loop free of a serial dependency.
  std::uint64_t digest = 0;
  std::uint64_t position = 1;
  for (const std::string_view& line : snapshot) {
    digest += XXH3_64bits_withSeed(line.data(), line.size(), position++);
  }
  return {snapshot.size(), digest};
}

std::optional<Violation> check_descending(std::span<const Patch> patches) noexcept {
  for (std::size_t i = 1; i < patches.size(); ++i) {
    if (patches[i].line >= patches[i - 1].line) {
      return Violation{ViolationCode::desc_order, Detail::guard_failed, patches[i].index, "line",
                       patches[i - 1].line,       patches[i].line};
    }
  }
  return std::nullopt;
}

std::optional<Violation> check_immutable(const SnapshotSeal& before,
                                         std::span<const std::string_view> after) noexcept {
  if (seal_snapshot(after).digest != before.digest) {
    return Violation{ViolationCode::immutable_snapshot, Detail::guard_failed};
  }
  return std::nullopt;
}

std::optional<Violation> check_size(const SnapshotSeal& before,
                                    std::span<const std::string_view> after,
                                    std::span<const Patch> patches,
                                    std::size_t output_lines) noexcept {
  if (after.size() != before.size) {
    return Violation{ViolationCode::snapshot_size_changed,
                     Detail::guard_failed,
                     kNoPatch,
                     "snapshot",
                     before.size,
                     after.size()};
  }
  std::uint64_t expected = before.size;
  for (const Patch& p : patches) {
    expected += p.lines_count;
    if (p.op != Op::insert) expected -= p.end - p.line + 1;
  }
  if (expected != output_lines) {
    return Violation{ViolationCode::snapshot_size_changed,
                     Detail::guard_failed,
                     kNoPatch,
                     "lines",
                     expected,
                     output_lines};
  }
  return std::nullopt;
}

std::optional<Violation> check_revision_step(std::int64_t base,
                                             std::int64_t result_revision) noexcept {
  if (result_revision != base + 1) {
    return Violation{ViolationCode::revision_mismatch,
                     Detail::guard_failed,
                     kNoPatch,
                     "revision",
                     static_cast<std::uint64_t>(base),
                     static_cast<std::uint64_t>(result_revision)};
  }
  return std::nullopt;
}

}  // namespace patchstream
