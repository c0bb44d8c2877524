// Appending JSON text to a reused buffer: escaped strings and integers, no temporaries.
#pragma once

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

namespace patchstream {

// Appends `s` as a JSON string literal (with quotes). `s` must be valid UTF-8; bytes >= 0x80
// pass through, quotes, backslashes and control characters are escaped.
void append_json_string(std::string& out, std::string_view s);

template <typename Int>
void append_int(std::string& out, Int value) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  (void)ec;  // 24 bytes hold any 64-bit integer
  out.append(buf, end);
}

}  // namespace patchstream
