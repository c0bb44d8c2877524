// Invariant enforcer: the internal guards (SPEC §1 invariants 2, 3, 6, 7) checked around the
// layers. Each compares what a layer produced with what it must have produced, computed
// independently, so a bug in a layer fails its guard.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "batch.h"

namespace patchstream {

// What the snapshot held before the layers ran; compared after they ran.
struct SnapshotSeal {
  std::size_t size = 0;
  std::uint64_t digest = 0;  // over every line's bytes and position (XXH3)
};

SnapshotSeal seal_snapshot(std::span<const std::string_view> snapshot) noexcept;

// Invariant 2: strictly descending lines, so applying one patch never shifts the next.
std::optional<Violation> check_descending(std::span<const Patch> patches) noexcept;
// Invariant 3: the snapshot's lines hold the same bytes as when sealed (the result writer reads
// them, so a layer writing through a view would change the answer).
std::optional<Violation> check_immutable(const SnapshotSeal& before,
                                         std::span<const std::string_view> after) noexcept;
// Invariant 7: the snapshot has as many lines as before, and the executor's output has exactly
// snapshot length + inserted − removed lines, as the patches (not the output) say.
std::optional<Violation> check_size(const SnapshotSeal& before,
                                    std::span<const std::string_view> after,
                                    std::span<const Patch> patches,
                                    std::size_t output_lines) noexcept;
// Invariant 6: the revision put into the result is exactly base_revision + 1.
std::optional<Violation> check_revision_step(std::int64_t base,
                                             std::int64_t result_revision) noexcept;

}  // namespace patchstream
