// Result writer: the patch-result event of SPEC §2, and the offline dead-letter line.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "applier.h"
#include "decoder.h"

namespace patchstream {

// How the flag routed this event; absent offline, where no flag is involved.
struct FlagContext {
  std::string_view name;
  std::uint32_t bucket = 0;
  std::uint32_t percentage = 0;
};

// Appends one patch-result JSON object (no newline) to `out`.
void write_result(const Result& result, const FlagContext* flag, std::string& out);

// Appends the human-readable message of one violation.
void append_violation_message(std::string& out, const Violation& v);

// Appends {"line":N,"code":...,"message":...} (no newline): the offline dead-letter record.
void write_offline_dead_letter(std::uint64_t line_number, const DeadLetter& dead, std::string& out);

}  // namespace patchstream
