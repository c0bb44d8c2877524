// Result writer: field order follows SPEC §2; messages are formatted straight into the output.
#include "result_writer.h"

#include "json_text.h"

namespace patchstream {
namespace {

// Lines that point into the validated input are escape-free JSON text already.
void append_line(std::string& out, std::string_view line, std::string_view raw_input) {
  const auto address = reinterpret_cast<std::uintptr_t>(line.data());
  const auto begin = reinterpret_cast<std::uintptr_t>(raw_input.data());
  if (address >= begin && address + line.size() <= begin + raw_input.size()) {
    out.push_back('"');
    out.append(line);
    out.push_back('"');
  } else {
    append_json_string(out, line);
  }
}

void append_patch_ref(std::string& out, std::uint32_t patch) {
  out.append("patch ");
  append_int(out, patch);
}

}  // namespace

void append_violation_message(std::string& out, const Violation& v) {
  const auto field = [&] { out.append(v.field); };
  switch (v.detail) {
    case Detail::none:
      if (v.code == ViolationCode::empty_batch) out.append("the batch has no patches");
      break;
    case Detail::not_utf8:
      out.append("a string in ");
      field();
      out.append(" is not valid UTF-8 or holds an unpaired surrogate escape");
      break;
    case Detail::bad_field_type:
      field();
      out.append(" has the wrong JSON type");
      break;
    case Detail::missing_field:
      field();
      out.append(" is required");
      break;
    case Detail::unknown_field:
      out.append("unknown field in ");
      field();
      break;
    case Detail::duplicate_field:
      out.append("duplicate field in ");
      field();
      break;
    case Detail::unknown_op:
      out.append("op must be insert, replace or delete");
      break;
    case Detail::not_positive_int:
      field();
      out.append(v.field == "base_revision" ? " must be an integer in 0..2^53-2"
                                            : " must be a positive integer");
      break;
    case Detail::empty_lines:
      out.append("lines must hold at least one string");
      break;
    case Detail::end_on_insert:
      out.append("insert takes no end");
      break;
    case Detail::lines_on_delete:
      out.append("delete takes no lines");
      break;
    case Detail::missing_snapshot:
      out.append("snapshot is required in stateless mode");
      break;
    case Detail::event_bytes:
    case Detail::patch_count:
      out.append("more than ");
      append_int(out, v.a);
      out.append(v.detail == Detail::patch_count ? " patches" : " bytes");
      break;
    case Detail::snapshot_lines:
      out.append("snapshot has more than ");
      append_int(out, v.a);
      out.append(" lines");
      break;
    case Detail::line_bytes:
      out.append("a line in ");
      field();
      out.append(" has ");
      append_int(out, v.b);
      out.append(" bytes, the limit is ");
      append_int(out, v.a);
      break;
    case Detail::out_of_range:
      if (v.code == ViolationCode::insert_out_of_bounds) {
        out.append("insert at line ");
        append_int(out, v.a);
        out.append(" is outside 1..");
        append_int(out, v.c + 1);
      } else {
        out.append("lines ");
        append_int(out, v.a);
        out.append("..");
        append_int(out, v.b);
        out.append(" are not within 1..");
        append_int(out, v.c);
        out.append(v.b < v.a ? " (end before line)" : "");
      }
      break;
    case Detail::overlap:
      out.append("touches snapshot line ");
      append_int(out, v.b);
      out.append(" like ");
      append_patch_ref(out, static_cast<std::uint32_t>(v.a));
      break;
    case Detail::stale_revision:
      out.append("base_revision ");
      append_int(out, v.a);
      out.append(" is not the stored revision ");
      append_int(out, v.b);
      break;
    case Detail::guard_failed:
      out.append("internal invariant guard failed: ");
      out.append(code_name(v.code));
      out.append(" (a bug; the batch was not applied)");
      break;
  }
}

void write_result(const Result& r, const FlagContext* flag, std::string& out) {
  const Batch& b = *r.batch;
  out.append("{\"batch_id\":");
  append_json_string(out, b.batch_id);
  out.append(",\"user_id\":");
  append_json_string(out, b.user_id);
  out.append(",\"document_id\":");
  append_json_string(out, b.document_id);
  out.append(r.applied ? ",\"status\":\"applied\"" : ",\"status\":\"rejected\"");
  if (b.has_base_revision) {
    out.append(",\"base_revision\":");
    append_int(out, b.base_revision);
    out.append(",\"revision\":");
    append_int(out, r.revision);
  } else {
    out.append(",\"base_revision\":null,\"revision\":null");
  }
  if (r.applied) {
    out.append(",\"lines\":[");
    bool first = true;
    for (std::string_view line : r.lines) {
      if (!first) out.push_back(',');
      first = false;
      append_line(out, line, b.raw_input);
    }
    out.push_back(']');
  }
  out.append(",\"patches_applied\":");
  append_int(out, r.patches_applied);
  out.append(",\"violations\":[");
  bool first = true;
  for (const Violation& v : r.violations) {
    if (!first) out.push_back(',');
    first = false;
    out.append("{\"code\":\"");
    out.append(code_name(v.code));
    out.append("\",\"patch\":");
    if (v.patch == kNoPatch)
      out.append("null");
    else
      append_int(out, v.patch);
    out.append(",\"message\":\"");
    // Messages are built from ASCII text and numbers only, never from input strings.
    append_violation_message(out, v);
    out.append("\"}");
  }
  out.append("],\"route\":\"pipeline\",\"flag\":");
  if (flag) {
    out.append("{\"name\":");
    append_json_string(out, flag->name);
    out.append(",\"bucket\":");
    append_int(out, flag->bucket);
    out.append(",\"percentage\":");
    append_int(out, flag->percentage);
    out.push_back('}');
  } else {
    out.append("null");
  }
  out.append(",\"timings_us\":{\"parse\":");
  append_int(out, r.timings.parse_us);
  out.append(",\"normalize\":");
  append_int(out, r.timings.normalize_us);
  out.append(",\"execute\":");
  append_int(out, r.timings.execute_us);
  out.append(",\"total\":");
  append_int(out, r.timings.total_us);
  out.append("}}");
}

void write_offline_dead_letter(std::uint64_t line_number, const DeadLetter& dead,
                               std::string& out) {
  out.append("{\"line\":");
  append_int(out, line_number);
  out.append(",\"code\":\"");
  out.append(dead_letter_code_name(dead.code));
  out.append("\",\"message\":");
  append_json_string(out, dead.message);
  out.push_back('}');
}

}  // namespace patchstream
