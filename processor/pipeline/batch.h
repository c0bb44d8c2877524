// The typed batch-patch model of SPEC §1: operations, patches, violations and limits.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace patchstream {

enum class Op : std::uint8_t { insert, replace, erase };

std::string_view op_name(Op op) noexcept;

// A decoded patch. Its replacement lines live in Batch::patch_lines[lines_begin, +lines_count),
// so a batch of any size costs a few reused vectors, never one allocation per patch.
struct Patch {
  Op op = Op::insert;
  std::uint32_t index = 0;  // position in the input, as reported in violations
  std::uint64_t line = 0;
  std::uint64_t end = 0;  // last touched snapshot line (== line for insert)
  std::uint32_t lines_begin = 0;
  std::uint32_t lines_count = 0;
};

enum class ViolationCode : std::uint8_t {
  line_out_of_range,
  revision_mismatch,
  desc_order,
  immutable_snapshot,
  insert_out_of_bounds,
  overlapping_patches,
  snapshot_size_changed,
  empty_batch,
  too_large,
  invalid_batch,
};
inline constexpr int kViolationCodeCount = 10;

std::string_view code_name(ViolationCode code) noexcept;

// What is wrong, kept as data; the message text is formatted only when a result is written.
enum class Detail : std::uint8_t {
  none,
  // invalid_batch
  not_utf8,
  bad_field_type,    // field: which field; patch: which patch (or kNoPatch)
  missing_field,     // field
  unknown_field,     // field
  duplicate_field,   // field
  unknown_op,        // patch
  not_positive_int,  // field, patch
  empty_lines,       // patch
  end_on_insert,     // patch
  lines_on_delete,   // patch
  missing_snapshot,
  // too_large: a = limit, b = actual (or 0 when counting stopped at the limit)
  event_bytes,
  patch_count,
  snapshot_lines,
  line_bytes,
  // range rules: a = line, b = end, c = snapshot length
  out_of_range,
  // overlapping_patches: a = the other patch, b = the first shared line
  overlap,
  // revision_mismatch: a = base_revision, b = stored revision
  stale_revision,
  // internal guards
  guard_failed,
};

inline constexpr std::uint32_t kNoPatch = UINT32_MAX;

struct Violation {
  ViolationCode code;
  Detail detail = Detail::none;
  std::uint32_t patch = kNoPatch;
  std::string_view field{};  // static string: which field the detail is about
  std::uint64_t a = 0, b = 0, c = 0;
};

// Explicit bounds on everything an event can make the process allocate. Defaults are safe for
// a shared cluster; all are configurable.
struct Limits {
  std::size_t max_event_bytes = 8u << 20;
  std::size_t max_patches = 10'000;
  std::size_t max_snapshot_lines = 100'000;
  std::size_t max_line_bytes = 64u << 10;
  // Beyond this many, further violations are counted but not itemized in the result.
  std::size_t max_reported_violations = 100;

  bool operator==(const Limits&) const = default;
};

// One decoded patch-batch. String views point into the decoder's buffers and stay valid until
// the decoder decodes the next event.
struct Batch {
  std::string_view batch_id, user_id, document_id;
  std::int64_t base_revision = 0;
  bool has_base_revision = false;
  bool has_snapshot = false;
  std::vector<std::string_view> snapshot;
  std::vector<Patch> patches;
  std::vector<std::string_view> patch_lines;
  // The (validated) event text. A line view inside it is raw JSON string content without
  // escapes, which the result writer copies as is.
  std::string_view raw_input;

  void clear() noexcept {
    batch_id = user_id = document_id = {};
    base_revision = 0;
    has_base_revision = has_snapshot = false;
    snapshot.clear();
    patches.clear();
    patch_lines.clear();
    raw_input = {};
  }
};

}  // namespace patchstream
