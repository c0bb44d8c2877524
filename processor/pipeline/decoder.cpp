// Semantics layer: one pass over the event with simdjson on-demand, validating while reading.
#include "decoder.h"

#include <simdjson.h>

#include <cstring>

#include "utf8.h"

namespace patchstream {

namespace od = simdjson::ondemand;
using simdjson::error_code;

std::string_view dead_letter_code_name(DeadLetterCode code) noexcept {
  switch (code) {
    case DeadLetterCode::not_json:
      return "not_json";
    case DeadLetterCode::not_an_object:
      return "not_an_object";
    case DeadLetterCode::invalid_identity:
      return "invalid_identity";
    case DeadLetterCode::too_large:
      return "too_large";
  }
  return "unknown";
}

struct Decoder::Impl {
  od::parser parser;
  simdjson::dom::parser validator;  // slow path only: is a non-object at least JSON?
  std::string sanitized;            // slow path only: the event with invalid UTF-8 replaced
};

namespace {

// Errors that mean "this value has the wrong type or form": the document is still JSON and
// iteration can continue. Anything else means the input is not JSON at all.
bool is_content_error(error_code e) {
  switch (e) {
    case simdjson::INCORRECT_TYPE:
    case simdjson::NUMBER_ERROR:
    case simdjson::NUMBER_OUT_OF_RANGE:
    case simdjson::STRING_ERROR:
    case simdjson::T_ATOM_ERROR:
    case simdjson::F_ATOM_ERROR:
    case simdjson::N_ATOM_ERROR:
      return true;
    default:
      return false;
  }
}

// JavaScript's Number.MAX_SAFE_INTEGER - 1: revisions stay exact for every JSON consumer and
// base_revision + 1 can never overflow.
constexpr std::int64_t kMaxRevision = (std::int64_t{1} << 53) - 2;

// Reads one event; collects content violations; throws nothing. Returns a syntax error code
// (not_json) through `syntax` when the document is not JSON.
class EventReader {
 public:
  EventReader(const Limits& limits, Batch& batch, std::vector<Violation>& violations)
      : limits_(limits), batch_(batch), violations_(violations) {}

  error_code read(od::object& root);

  bool identity_typed_wrong = false;
  std::string_view identity_problem;  // first identity field that is missing or mistyped
  std::uint32_t seen_mask = 0;

 private:
  void violate(Violation v) {
    if (violations_.size() < limits_.max_reported_violations)
      violations_.push_back(v);
    else
      ++omitted_;
  }
  error_code read_identity(od::value value, std::string_view field, std::string_view& out);
  error_code read_revision(od::value value);
  error_code read_strings(od::array& lines, std::uint32_t patch, std::string_view field,
                          std::vector<std::string_view>& out, std::size_t max_count);
  error_code read_snapshot(od::value value);
  error_code read_patches(od::value value);
  error_code read_patch(od::value value, std::uint32_t index);
  error_code read_lines(od::value value, std::uint32_t patch, std::uint32_t& begin,
                        std::uint32_t& count);
  error_code read_line_number(od::value value, std::string_view field, std::uint32_t patch,
                              std::uint64_t& out);
  // Content error → violation, returns SUCCESS; syntax error → returned as is.
  error_code classify(error_code e, Violation v) {
    if (e == simdjson::SUCCESS) return e;
    if (!is_content_error(e)) return e;
    violate(v);
    return simdjson::SUCCESS;
  }

  const Limits& limits_;
  Batch& batch_;
  std::vector<Violation>& violations_;
  std::size_t omitted_ = 0;
};

// A line is read zero-copy: a JSON string without backslashes is its own text, so the view can
// point straight into the input (the result writer then copies it without re-escaping).
// Only strings with escapes are unescaped by simdjson into the parser's string buffer.
error_code read_line(od::value& value, std::string_view& out) {
  std::string_view token = value.raw_json_token();
  while (!token.empty() && (token.back() == ' ' || token.back() == '\n' || token.back() == '\r' ||
                            token.back() == '\t')) {
    token.remove_suffix(1);
  }
  if (token.size() < 2 || token.front() != '"' || token.back() != '"') {
    return simdjson::INCORRECT_TYPE;
  }
  token = token.substr(1, token.size() - 2);
  if (std::memchr(token.data(), '\\', token.size()) == nullptr) {
    out = token;
    return simdjson::SUCCESS;
  }
  return value.get_string().get(out);
}

enum FieldBit : std::uint32_t {
  kBatchId = 1,
  kUserId = 2,
  kDocumentId = 4,
  kBaseRevision = 8,
  kSnapshot = 16,
  kPatches = 32
};

error_code EventReader::read(od::object& root) {
  for (auto field_result : root) {
    od::field field;
    if (auto e = std::move(field_result).get(field)) return e;
    std::string_view key;
    if (auto e = field.unescaped_key().get(key))
      return is_content_error(e) ? simdjson::TAPE_ERROR : e;
    od::value value = field.value();

    std::uint32_t bit = 0;
    if (key == "batch_id")
      bit = kBatchId;
    else if (key == "user_id")
      bit = kUserId;
    else if (key == "document_id")
      bit = kDocumentId;
    else if (key == "base_revision")
      bit = kBaseRevision;
    else if (key == "snapshot")
      bit = kSnapshot;
    else if (key == "patches")
      bit = kPatches;

    if (bit == 0) {
      violate({ViolationCode::invalid_batch, Detail::unknown_field, kNoPatch, "(top level)"});
      continue;
    }
    if (seen_mask & bit) {
      // A duplicated id makes the identity ambiguous; other duplicates make the content so.
      if (bit & (kBatchId | kUserId | kDocumentId)) {
        identity_problem = key == "batch_id"  ? "batch_id"
                           : key == "user_id" ? "user_id"
                                              : "document_id";
        identity_typed_wrong = true;
      }
      violate({ViolationCode::invalid_batch, Detail::duplicate_field, kNoPatch,
               bit == kBaseRevision ? "base_revision"
               : bit == kSnapshot   ? "snapshot"
               : bit == kPatches    ? "patches"
                                    : "id"});
      continue;
    }
    seen_mask |= bit;

    error_code e = simdjson::SUCCESS;
    switch (bit) {
      case kBatchId:
        e = read_identity(value, "batch_id", batch_.batch_id);
        break;
      case kUserId:
        e = read_identity(value, "user_id", batch_.user_id);
        break;
      case kDocumentId:
        e = read_identity(value, "document_id", batch_.document_id);
        break;
      case kBaseRevision:
        e = read_revision(value);
        break;
      case kSnapshot:
        e = read_snapshot(value);
        break;
      case kPatches:
        e = read_patches(value);
        break;
    }
    if (e) return e;
  }
  return simdjson::SUCCESS;
}

error_code EventReader::read_identity(od::value value, std::string_view field,
                                      std::string_view& out) {
  std::string_view s;
  error_code e = value.get_string().get(s);
  if (e && !is_content_error(e)) return e;
  if (e || s.empty()) {
    if (identity_problem.empty()) identity_problem = field;
    identity_typed_wrong = true;
    return simdjson::SUCCESS;
  }
  out = s;
  return simdjson::SUCCESS;
}

error_code EventReader::read_revision(od::value value) {
  std::int64_t r = 0;
  error_code e = value.get_int64().get(r);
  if (!e && (r < 0 || r > kMaxRevision)) e = simdjson::NUMBER_OUT_OF_RANGE;
  if (e) {
    return classify(
        e, {ViolationCode::invalid_batch, Detail::not_positive_int, kNoPatch, "base_revision"});
  }
  batch_.base_revision = r;
  batch_.has_base_revision = true;
  return simdjson::SUCCESS;
}

// The string items of `lines` into `out`: each a zero-copy line, checked against the line limit;
// at most `max_count` of them (the excess is reported once and skipped).
error_code EventReader::read_strings(od::array& lines, std::uint32_t patch, std::string_view field,
                                     std::vector<std::string_view>& out, std::size_t max_count) {
  const std::size_t first = out.size();
  for (auto item : lines) {
    od::value item_value;
    if (auto e = std::move(item).get(item_value)) return e;
    std::string_view line;
    error_code e = read_line(item_value, line);
    if (e) {
      if (!is_content_error(e)) return e;
      violate({ViolationCode::invalid_batch,
               e == simdjson::STRING_ERROR ? Detail::not_utf8 : Detail::bad_field_type, patch,
               field});
      continue;
    }
    if (out.size() - first >= max_count) {
      violate({ViolationCode::too_large, Detail::snapshot_lines, patch, field, max_count});
      break;  // on-demand skips the rest of the array when the parent moves on
    }
    if (line.size() > limits_.max_line_bytes) {
      violate({ViolationCode::too_large, Detail::line_bytes, patch, field, limits_.max_line_bytes,
               line.size(), out.size() - first + 1});
    }
    out.push_back(line);
  }
  return simdjson::SUCCESS;
}

error_code EventReader::read_snapshot(od::value value) {
  od::array lines;
  if (auto e = value.get_array().get(lines)) {
    return classify(e,
                    {ViolationCode::invalid_batch, Detail::bad_field_type, kNoPatch, "snapshot"});
  }
  batch_.has_snapshot = true;
  return read_strings(lines, kNoPatch, "snapshot", batch_.snapshot, limits_.max_snapshot_lines);
}

error_code EventReader::read_patches(od::value value) {
  od::array patches;
  if (auto e = value.get_array().get(patches)) {
    return classify(e, {ViolationCode::invalid_batch, Detail::bad_field_type, kNoPatch, "patches"});
  }
  std::uint32_t index = 0;
  for (auto item : patches) {
    if (index >= limits_.max_patches) {
      violate({ViolationCode::too_large, Detail::patch_count, kNoPatch, "patches",
               limits_.max_patches});
      break;
    }
    od::value patch_value;
    if (auto e = std::move(item).get(patch_value)) return e;
    if (auto e = read_patch(patch_value, index)) return e;
    ++index;
  }
  return simdjson::SUCCESS;
}

error_code EventReader::read_line_number(od::value value, std::string_view field,
                                         std::uint32_t patch, std::uint64_t& out) {
  std::uint64_t n = 0;
  error_code e = value.get_uint64().get(n);
  if (!e && n == 0) e = simdjson::NUMBER_OUT_OF_RANGE;
  if (e) {
    out = 0;
    return classify(e, {ViolationCode::invalid_batch, Detail::not_positive_int, patch, field});
  }
  out = n;
  return simdjson::SUCCESS;
}

error_code EventReader::read_lines(od::value value, std::uint32_t patch, std::uint32_t& begin,
                                   std::uint32_t& count) {
  od::array lines;
  if (auto e = value.get_array().get(lines)) {
    return classify(e, {ViolationCode::invalid_batch, Detail::bad_field_type, patch, "lines"});
  }
  begin = static_cast<std::uint32_t>(batch_.patch_lines.size());
  const error_code e = read_strings(lines, patch, "lines", batch_.patch_lines, SIZE_MAX);
  count = static_cast<std::uint32_t>(batch_.patch_lines.size() - begin);
  return e;
}

error_code EventReader::read_patch(od::value value, std::uint32_t index) {
  od::object object;
  if (auto e = value.get_object().get(object)) {
    return classify(e, {ViolationCode::invalid_batch, Detail::bad_field_type, index, "patch"});
  }
  Patch patch;
  patch.index = index;
  bool has_op = false, op_known = false, has_line = false, has_end = false, has_lines = false;
  const std::size_t violations_before = violations_.size() + omitted_;
  for (auto field_result : object) {
    od::field field;
    if (auto e = std::move(field_result).get(field)) return e;
    std::string_view key;
    if (auto e = field.unescaped_key().get(key))
      return is_content_error(e) ? simdjson::TAPE_ERROR : e;
    od::value v = field.value();
    bool duplicate = false;
    error_code e = simdjson::SUCCESS;
    if (key == "op") {
      duplicate = has_op;
      has_op = true;
      std::string_view op;
      e = v.get_string().get(op);
      if (!e) {
        op_known = true;
        if (op == "insert")
          patch.op = Op::insert;
        else if (op == "replace")
          patch.op = Op::replace;
        else if (op == "delete")
          patch.op = Op::erase;
        else
          op_known = false;
        if (!op_known) violate({ViolationCode::invalid_batch, Detail::unknown_op, index, "op"});
      } else {
        e = classify(e, {ViolationCode::invalid_batch, Detail::bad_field_type, index, "op"});
      }
    } else if (key == "line") {
      duplicate = has_line;
      has_line = true;
      e = read_line_number(v, "line", index, patch.line);
    } else if (key == "end") {
      duplicate = has_end;
      has_end = true;
      e = read_line_number(v, "end", index, patch.end);
    } else if (key == "lines") {
      duplicate = has_lines;
      has_lines = true;
      e = read_lines(v, index, patch.lines_begin, patch.lines_count);
    } else {
      violate({ViolationCode::invalid_batch, Detail::unknown_field, index, "patch"});
    }
    if (e) return e;
    if (duplicate) violate({ViolationCode::invalid_batch, Detail::duplicate_field, index, "patch"});
  }

  if (!has_op) violate({ViolationCode::invalid_batch, Detail::missing_field, index, "op"});
  if (!has_line) violate({ViolationCode::invalid_batch, Detail::missing_field, index, "line"});
  if (op_known) {
    const bool wants_lines = patch.op != Op::erase;
    if (wants_lines && !has_lines) {
      violate({ViolationCode::invalid_batch, Detail::missing_field, index, "lines"});
    } else if (wants_lines && patch.lines_count == 0 &&
               violations_.size() + omitted_ == violations_before) {
      violate({ViolationCode::invalid_batch, Detail::empty_lines, index, "lines"});
    }
    if (!wants_lines && has_lines) {
      violate({ViolationCode::invalid_batch, Detail::lines_on_delete, index, "lines"});
    }
    if (patch.op == Op::insert && has_end) {
      violate({ViolationCode::invalid_batch, Detail::end_on_insert, index, "end"});
    }
  }
  if (!has_end) patch.end = patch.line;
  batch_.patches.push_back(patch);
  return simdjson::SUCCESS;
}

}  // namespace

Decoder::Decoder(const Limits& limits) : limits_(limits), impl_(std::make_unique<Impl>()) {
  // Bound the parser's own buffers by the event limit (plus the slow path's worst-case growth).
  impl_->parser = od::parser(limits_.max_event_bytes * 3 + 64);
}

Decoder::~Decoder() = default;

DecodeStatus Decoder::dead(DeadLetterCode code, std::string message) {
  dead_letter_.code = code;
  dead_letter_.message = std::move(message);
  return DecodeStatus::dead_letter;
}

DecodeStatus Decoder::decode(std::string_view event) {
  batch_.clear();
  violations_.clear();
  if (event.size() > limits_.max_event_bytes) {
    return dead(DeadLetterCode::too_large, "event is " + std::to_string(event.size()) +
                                               " bytes, the limit is " +
                                               std::to_string(limits_.max_event_bytes));
  }
  const std::size_t needed = event.size() + simdjson::SIMDJSON_PADDING;
  if (needed > buffer_capacity_) {
    buffer_capacity_ = std::max(needed, buffer_capacity_ * 2);
    buffer_ = std::make_unique<char[]>(buffer_capacity_);
  }
  std::memcpy(buffer_.get(), event.data(), event.size());
  std::memset(buffer_.get() + event.size(), 0, simdjson::SIMDJSON_PADDING);
  return decode_padded(event.size(), false);
}

DecodeStatus Decoder::decode_padded(std::size_t length, bool sanitized) {
  const char* data = sanitized ? impl_->sanitized.data() : buffer_.get();
  const std::size_t capacity = sanitized ? impl_->sanitized.size() : buffer_capacity_;
  if (sanitized) length = impl_->sanitized.size() - simdjson::SIMDJSON_PADDING;

  od::document doc;
  error_code e = impl_->parser.iterate(data, length, capacity).get(doc);
  if (e == simdjson::UTF8_ERROR && !sanitized) {
    // Slow path: replace the broken bytes so the identity can still be read and answered.
    replace_invalid_utf8(std::string_view(buffer_.get(), length), impl_->sanitized);
    impl_->sanitized.append(simdjson::SIMDJSON_PADDING, '\0');
    return decode_padded(0, true);
  }
  if (e) return dead(DeadLetterCode::not_json, std::string(simdjson::error_message(e)));

  od::object root;
  e = doc.get_object().get(root);
  if (e == simdjson::INCORRECT_TYPE) {
    // On-demand judges the root by its first byte; a full parse tells `[1]` from `nonsense`.
    simdjson::dom::element element;
    if (auto invalid = impl_->validator.parse(data, length, false).get(element)) {
      return dead(DeadLetterCode::not_json, std::string(simdjson::error_message(invalid)));
    }
    return dead(DeadLetterCode::not_an_object, "a patch-batch event is a JSON object");
  }
  if (e) return dead(DeadLetterCode::not_json, std::string(simdjson::error_message(e)));

  batch_.raw_input = std::string_view(data, length);
  EventReader reader(limits_, batch_, violations_);
  e = reader.read(root);
  if (e) return dead(DeadLetterCode::not_json, std::string(simdjson::error_message(e)));
  if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS) {
    return dead(DeadLetterCode::not_json, "trailing content after the JSON object");
  }

  const char* missing = !(reader.seen_mask & kBatchId)      ? "batch_id"
                        : !(reader.seen_mask & kUserId)     ? "user_id"
                        : !(reader.seen_mask & kDocumentId) ? "document_id"
                                                            : nullptr;
  if (reader.identity_typed_wrong) {
    return dead(DeadLetterCode::invalid_identity,
                std::string(reader.identity_problem) +
                    " must be a non-empty string and appear exactly once");
  }
  if (missing) return dead(DeadLetterCode::invalid_identity, std::string(missing) + " is missing");
  if (sanitized) {
    for (std::string_view id : {batch_.batch_id, batch_.user_id, batch_.document_id}) {
      if (id.find(kReplacementCharacter) != std::string_view::npos) {
        return dead(DeadLetterCode::invalid_identity, "an id is not valid UTF-8");
      }
    }
    violations_.insert(violations_.begin(), Violation{ViolationCode::invalid_batch,
                                                      Detail::not_utf8, kNoPatch, "event"});
  }
  if (!(reader.seen_mask & kBaseRevision)) {
    violations_.push_back(
        {ViolationCode::invalid_batch, Detail::missing_field, kNoPatch, "base_revision"});
  }
  if (!(reader.seen_mask & kPatches)) {
    violations_.push_back(
        {ViolationCode::invalid_batch, Detail::missing_field, kNoPatch, "patches"});
  }
  return violations_.empty() ? DecodeStatus::decoded : DecodeStatus::malformed;
}

}  // namespace patchstream
