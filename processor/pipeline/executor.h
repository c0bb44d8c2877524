// Executor layer: builds the new document from the snapshot and the normalized patches.
#pragma once

#include <span>
#include <string_view>
#include <vector>

#include "batch.h"

namespace patchstream {

// `patches` must be normalized (descending, in range, disjoint). One forward pass over the
// snapshot: O(snapshot lines + patch lines). The snapshot is only read; `out` receives views
// into the snapshot and into `patch_lines`.
void execute(std::span<const std::string_view> snapshot, std::span<const Patch> patches,
             std::span<const std::string_view> patch_lines, std::vector<std::string_view>& out);

}  // namespace patchstream
