// Names of the model's enumerations as they appear on the wire.
#include "batch.h"

namespace patchstream {

std::string_view op_name(Op op) noexcept {
  switch (op) {
    case Op::insert:
      return "insert";
    case Op::replace:
      return "replace";
    case Op::erase:
      return "delete";
  }
  return "unknown";
}

std::string_view code_name(ViolationCode code) noexcept {
  switch (code) {
    case ViolationCode::line_out_of_range:
      return "line_out_of_range";
    case ViolationCode::revision_mismatch:
      return "revision_mismatch";
    case ViolationCode::desc_order:
      return "desc_order";
    case ViolationCode::immutable_snapshot:
      return "immutable_snapshot";
    case ViolationCode::insert_out_of_bounds:
      return "insert_out_of_bounds";
    case ViolationCode::overlapping_patches:
      return "overlapping_patches";
    case ViolationCode::snapshot_size_changed:
      return "snapshot_size_changed";
    case ViolationCode::empty_batch:
      return "empty_batch";
    case ViolationCode::too_large:
      return "too_large";
    case ViolationCode::invalid_batch:
      return "invalid_batch";
  }
  return "unknown";
}

}  // namespace patchstream
