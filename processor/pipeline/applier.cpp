// Layers 2 and 3 with the guards around them; every failure becomes a violation, never a throw.
#include "applier.h"

#include <algorithm>

#include "executor.h"
#include "invariants.h"
#include "normalizer.h"

namespace patchstream {
namespace {

std::uint64_t micros_between(std::chrono::steady_clock::time_point a,
                             std::chrono::steady_clock::time_point b) {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(b - a).count());
}

std::int64_t next_revision(const Batch& batch, const StoredDocument* stored) {
  return (stored ? stored->revision : batch.base_revision) + 1;
}

}  // namespace

PipelineLayers default_layers() noexcept {
  return {&normalize, &execute, &next_revision};
}

Result BatchApplier::apply(Batch& batch, std::span<const Violation> decode_violations,
                           const StoredDocument* stored,
                           std::chrono::steady_clock::time_point started) {
  using clock = std::chrono::steady_clock;
  const auto decoded = clock::now();
  violations_.assign(decode_violations.begin(), decode_violations.end());
  output_.clear();

  Result result;
  result.batch = &batch;
  result.revision = batch.base_revision;
  result.timings.parse_us = micros_between(started, decoded);

  const auto finish = [&](clock::time_point normalized, clock::time_point executed) {
    // Violations read best in patch order; batch-level ones (kNoPatch) come last.
    std::stable_sort(violations_.begin(), violations_.end(),
                     [](const Violation& a, const Violation& b) { return a.patch < b.patch; });
    result.violations = violations_;
    result.timings.normalize_us = micros_between(decoded, normalized);
    result.timings.execute_us = micros_between(normalized, executed);
    result.timings.total_us = micros_between(started, executed);
    return result;
  };

  if (!violations_.empty()) return finish(decoded, decoded);

  std::span<const std::string_view> snapshot = batch.snapshot;
  if (stored) {
    if (!batch.has_snapshot) snapshot = stored->lines;
    if (batch.base_revision != stored->revision) {
      violations_.push_back({ViolationCode::revision_mismatch, Detail::stale_revision, kNoPatch,
                             "base_revision", static_cast<std::uint64_t>(batch.base_revision),
                             static_cast<std::uint64_t>(stored->revision)});
    }
  } else if (!batch.has_snapshot) {
    violations_.push_back(
        {ViolationCode::invalid_batch, Detail::missing_snapshot, kNoPatch, "snapshot"});
  }
  if (!violations_.empty()) return finish(decoded, decoded);

  const SnapshotSeal seal = seal_snapshot(snapshot);
  const bool valid = layers_.normalize(batch.patches, snapshot.size(), violations_,
                                       limits_.max_reported_violations);
  const auto normalized = clock::now();
  if (!valid) return finish(normalized, normalized);

  if (auto v = check_descending(batch.patches)) violations_.push_back(*v);
  if (violations_.empty()) {
    layers_.execute(snapshot, batch.patches, batch.patch_lines, output_);
    if (auto v = check_size(seal, snapshot, batch.patches, output_.size()))
      violations_.push_back(*v);
  }
  if (auto v = check_immutable(seal, snapshot)) violations_.push_back(*v);
  const std::int64_t next = layers_.next_revision(batch, stored);
  if (auto v = check_revision_step(batch.base_revision, next)) violations_.push_back(*v);
  const auto executed = clock::now();

  if (!violations_.empty()) {
    result.internal_guard_failed = true;
    output_.clear();
    return finish(normalized, executed);
  }
  result.applied = true;
  result.revision = next;
  result.lines = output_;
  result.patches_applied = static_cast<std::uint32_t>(batch.patches.size());
  return finish(normalized, executed);
}

}  // namespace patchstream
