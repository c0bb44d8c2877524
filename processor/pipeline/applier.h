// Runs a decoded batch through normalizer and executor under the invariant enforcer.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "batch.h"

namespace patchstream {

// A document as the processor's store holds it (stateful mode).
struct StoredDocument {
  std::int64_t revision = 0;
  std::span<const std::string_view> lines;
};

struct Timings {
  std::uint64_t parse_us = 0, normalize_us = 0, execute_us = 0, total_us = 0;
};

// The outcome of one batch. Spans point into the applier's and the decoder's buffers and stay
// valid until either handles the next event.
struct Result {
  const Batch* batch = nullptr;
  bool applied = false;
  std::int64_t revision = 0;  // base_revision + 1 when applied, base_revision when rejected
  std::span<const std::string_view> lines;
  std::span<const Violation> violations;
  std::uint32_t patches_applied = 0;
  bool internal_guard_failed = false;  // a bug: invariants 2, 3, 6 or 7
  Timings timings;
};

// The layers the applier runs under its guards. Production uses the defaults; a test replaces one
// with a faulty version to prove that the guard around it fires (and is reported, counted and
// alerted on, never thrown).
struct PipelineLayers {
  bool (*normalize)(std::vector<Patch>& patches, std::size_t snapshot_length,
                    std::vector<Violation>& violations, std::size_t max_reported);
  void (*execute)(std::span<const std::string_view> snapshot, std::span<const Patch> patches,
                  std::span<const std::string_view> patch_lines,
                  std::vector<std::string_view>& out);
  // The revision an applied batch yields: the stored document's next one in stateful mode.
  std::int64_t (*next_revision)(const Batch& batch, const StoredDocument* stored);
};

PipelineLayers default_layers() noexcept;

class BatchApplier {
 public:
  explicit BatchApplier(const Limits& limits, PipelineLayers layers = default_layers())
      : limits_(limits), layers_(layers) {}

  // `decode_violations` non-empty → rejected as is. `stored` null → stateless mode: the batch
  // must carry its snapshot. Otherwise the store's revision must match base_revision and the
  // stored lines serve when the batch has no snapshot.
  Result apply(Batch& batch, std::span<const Violation> decode_violations,
               const StoredDocument* stored,
               std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now());

 private:
  Limits limits_;
  PipelineLayers layers_;
  std::vector<Violation> violations_;
  std::vector<std::string_view> output_;
};

}  // namespace patchstream
