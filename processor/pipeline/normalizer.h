// Normalizer layer: checks every rule of SPEC §1 and orders the patches descending.
#pragma once

#include <span>
#include <string_view>
#include <vector>

#include "batch.h"

namespace patchstream {

// Appends one violation per broken rule (range, insert bounds, overlap, empty batch) to
// `violations`, at most `max_reported` in all; sorts `patches` by line, descending, when
// there are none. Returns true when the batch may be executed.
bool normalize(std::vector<Patch>& patches, std::size_t snapshot_length,
               std::vector<Violation>& violations, std::size_t max_reported);

}  // namespace patchstream
