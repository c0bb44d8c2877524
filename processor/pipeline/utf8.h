// UTF-8 checks for the slow path: locating and replacing the bytes simdjson refused.
#pragma once

#include <string>
#include <string_view>

namespace patchstream {

// Copies `in` to `out`, replacing each byte that does not start a valid UTF-8 sequence with
// U+FFFD. Returns how many replacements were made.
std::size_t replace_invalid_utf8(std::string_view in, std::string& out);

inline constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";

}  // namespace patchstream
