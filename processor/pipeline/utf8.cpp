// Scalar UTF-8 validation (RFC 3629: no overlongs, no surrogates, max U+10FFFF).
#include "utf8.h"

namespace patchstream {
namespace {

// Length of the valid sequence starting at s[i], or 0 if the byte there starts none.
std::size_t valid_sequence_length(std::string_view s, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char b0 = byte(i);
  if (b0 < 0x80) return 1;
  std::size_t n;
  unsigned char lo = 0x80, hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    n = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    n = 3;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;  // no UTF-16 surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    n = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return n;
}

}  // namespace

std::size_t replace_invalid_utf8(std::string_view in, std::string& out) {
  out.clear();
  out.reserve(in.size() + 16);
  std::size_t replaced = 0;
  for (std::size_t i = 0; i < in.size();) {
    const std::size_t n = valid_sequence_length(in, i);
    if (n == 0) {
      out.append(kReplacementCharacter);
      ++replaced;
      ++i;
    } else {
      out.append(in.substr(i, n));
      i += n;
    }
  }
  return replaced;
}

}  // namespace patchstream
