// Invariant enforcer: cheap O(patches + snapshot lines) checks that only a bug can fail.
#include "invariants.h"

namespace patchstream {

SnapshotSeal seal_snapshot(std::span<const std::string_view> snapshot) noexcept {
  // A position-weighted sum rather than a chained hash: independent iterations vectorize, and
  // any moved, resized or swapped line still changes it.
  std::uint64_t h = 0;
  std::uint64_t position = 1;
  for (const std::string_view& line : snapshot) {
    h += (reinterpret_cast<std::uintptr_t>(line.data()) ^ (std::uint64_t{line.size()} << 40)) *
         (2 * position++ + 1);
  }
  return {snapshot.data(), snapshot.size(), h};
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
  const SnapshotSeal now = seal_snapshot(after);
  if (now.data != before.data || now.digest != before.digest) {
    return Violation{ViolationCode::immutable_snapshot, Detail::guard_failed};
  }
  return std::nullopt;
}

std::optional<Violation> check_size(const SnapshotSeal& before,
                                    std::span<const std::string_view> after) noexcept {
  if (after.size() != before.size) {
    return Violation{ViolationCode::snapshot_size_changed,
                     Detail::guard_failed,
                     kNoPatch,
                     "snapshot",
                     before.size,
                     after.size()};
  }
  return std::nullopt;
}

std::optional<Violation> check_revision_step(std::int64_t base, std::int64_t next) noexcept {
  if (next != base + 1) {
    return Violation{ViolationCode::revision_mismatch,
                     Detail::guard_failed,
                     kNoPatch,
                     "revision",
                     static_cast<std::uint64_t>(base),
                     static_cast<std::uint64_t>(next)};
  }
  return std::nullopt;
}

}  // namespace patchstream
