// Invariant enforcer: the internal guards (SPEC §1 invariants 2, 3, 6, 7) checked around the
// layers.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "batch.h"

namespace patchstream {

// What the snapshot looked like before the layers ran; compared after they ran.
struct SnapshotSeal {
  const std::string_view* data = nullptr;
  std::size_t size = 0;
  std::uint64_t digest = 0;  // over every line's address and length
};

SnapshotSeal seal_snapshot(std::span<const std::string_view> snapshot) noexcept;

// Invariant 2: strictly descending lines, so applying one patch never shifts the next.
std::optional<Violation> check_descending(std::span<const Patch> patches) noexcept;
// Invariant 3: the snapshot is the same object with the same lines.
std::optional<Violation> check_immutable(const SnapshotSeal& before,
                                         std::span<const std::string_view> after) noexcept;
// Invariant 7: the snapshot has as many lines as before.
std::optional<Violation> check_size(const SnapshotSeal& before,
                                    std::span<const std::string_view> after) noexcept;
// Invariant 6: an applied batch yields exactly base_revision + 1.
std::optional<Violation> check_revision_step(std::int64_t base, std::int64_t next) noexcept;

}  // namespace patchstream
