// Unleash-compatible rollout bucketing: murmur3_x86_32 over "<group_id>:<user_id>", seed 0.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace patchstream::flags {

// Streaming murmur3_x86_32 so a key made of several parts hashes without building a string.
class Murmur3x86_32 {
 public:
  explicit Murmur3x86_32(std::uint32_t seed = 0) noexcept : hash_(seed) {}
  void update(std::string_view bytes) noexcept;
  std::uint32_t finish() const noexcept;

 private:
  std::uint32_t hash_;
  std::uint32_t tail_ = 0;    // pending bytes of an incomplete 4-byte block, little-endian
  unsigned tail_length_ = 0;  // 0..3
  std::size_t total_length_ = 0;
};

std::uint32_t murmur3_x86_32(std::string_view bytes, std::uint32_t seed = 0) noexcept;

// 1..100, as Unleash's gradual rollout normalizes it.
std::uint8_t rollout_bucket(std::string_view group_id, std::string_view user_id) noexcept;

}  // namespace patchstream::flags
