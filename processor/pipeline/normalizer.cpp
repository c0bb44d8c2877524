// Normalizer layer: range rules in input order, then a descending sort and one overlap sweep.
#include "normalizer.h"

#include <algorithm>

namespace patchstream {

bool normalize(std::vector<Patch>& patches, std::size_t snapshot_length,
               std::vector<Violation>& violations, std::size_t max_reported) {
  const std::size_t before = violations.size();
  const auto violate = [&](const Violation& v) {
    if (violations.size() < max_reported) violations.push_back(v);
  };
  if (patches.empty()) {
    violate({ViolationCode::empty_batch});
    return false;
  }
  const std::uint64_t len = snapshot_length;
  for (const Patch& p : patches) {
    if (p.op == Op::insert) {
      if (p.line < 1 || p.line > len + 1) {
        violate({ViolationCode::insert_out_of_bounds, Detail::out_of_range, p.index, "line", p.line,
                 p.line, len});
      }
    } else if (p.line < 1 || p.end < p.line || p.end > len) {
      violate({ViolationCode::line_out_of_range, Detail::out_of_range, p.index, "line", p.line,
               p.end, len});
    }
  }

  // Producers usually send patches in one order or the other; both avoid the general sort.
  const auto descending = [](const Patch& a, const Patch& b) {
    return a.line != b.line ? a.line > b.line : a.index < b.index;
  };
  if (!std::is_sorted(patches.begin(), patches.end(), descending)) {
    const auto ascending = [](const Patch& a, const Patch& b) {
      return a.line != b.line ? a.line < b.line : a.index > b.index;
    };
    if (std::is_sorted(patches.begin(), patches.end(), ascending)) {
      std::reverse(patches.begin(), patches.end());
    } else {
      std::sort(patches.begin(), patches.end(), descending);
    }
  }

  // Sorted by start line descending, the earlier patches that overlap patch i are exactly the
  // run just before it whose start is <= i's end: each step back is a reported violation, so
  // the sweep is linear in patches + violations.
  for (std::size_t i = 1; i < patches.size() && violations.size() < max_reported; ++i) {
    const Patch& p = patches[i];
    for (std::size_t j = i; j-- > 0;) {
      const Patch& q = patches[j];
      if (q.line > p.end) break;
      const Patch& later = p.index > q.index ? p : q;
      const Patch& earlier = p.index > q.index ? q : p;
      violate({ViolationCode::overlapping_patches, Detail::overlap, later.index, "line",
               earlier.index, q.line});
      if (violations.size() >= max_reported) break;
    }
  }
  return violations.size() == before;
}

}  // namespace patchstream
