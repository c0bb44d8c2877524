// Semantics layer: decodes one patch-batch event (simdjson on-demand) into a typed Batch.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "batch.h"

namespace patchstream {

// Why an event could not be answered with a result (its identity was unreadable).
enum class DeadLetterCode : std::uint8_t { not_json, not_an_object, invalid_identity, too_large };

std::string_view dead_letter_code_name(DeadLetterCode code) noexcept;

struct DeadLetter {
  DeadLetterCode code = DeadLetterCode::not_json;
  std::string message;
};

enum class DecodeStatus : std::uint8_t {
  decoded,      // identity and content readable; the normalizer validates the rules
  malformed,    // identity readable, content not: violations() says why (invalid_batch/too_large)
  dead_letter,  // identity unreadable: dead_letter() says why
};

// One Decoder per thread: it owns the padded input copy, the simdjson parser and the batch it
// fills, all reused from event to event so steady-state decoding does not allocate.
class Decoder {
 public:
  explicit Decoder(const Limits& limits);
  ~Decoder();
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  DecodeStatus decode(std::string_view event);

  // Valid until the next decode().
  Batch& batch() noexcept { return batch_; }
  std::span<const Violation> violations() const noexcept { return violations_; }
  const DeadLetter& dead_letter() const noexcept { return dead_letter_; }

 private:
  struct Impl;
  DecodeStatus decode_padded(std::size_t length, bool sanitized);
  DecodeStatus dead(DeadLetterCode code, std::string message);

  Limits limits_;
  std::unique_ptr<Impl> impl_;
  std::unique_ptr<char[]> buffer_;
  std::size_t buffer_capacity_ = 0;
  Batch batch_;
  std::vector<Violation> violations_;
  DeadLetter dead_letter_;
};

}  // namespace patchstream
