// murmur3_x86_32 (Austin Appleby's reference algorithm) fed incrementally, and the bucket built on
// it.
#include "flags/bucket.h"

namespace patchstream::flags {
namespace {

constexpr std::uint32_t kC1 = 0xcc9e2d51;
constexpr std::uint32_t kC2 = 0x1b873593;

constexpr std::uint32_t rotl32(std::uint32_t x, int r) noexcept {
  return (x << r) | (x >> (32 - r));
}

constexpr std::uint32_t scramble(std::uint32_t k) noexcept {
  k *= kC1;
  k = rotl32(k, 15);
  return k * kC2;
}

constexpr std::uint32_t mix_block(std::uint32_t h, std::uint32_t k) noexcept {
  h ^= scramble(k);
  h = rotl32(h, 13);
  return h * 5 + 0xe6546b64;
}

constexpr std::uint32_t final_mix(std::uint32_t h) noexcept {
  h ^= h >> 16;
  h *= 0x85ebca6b;
  h ^= h >> 13;
  h *= 0xc2b2ae35;
  h ^= h >> 16;
  return h;
}

}  // namespace

void Murmur3x86_32::update(std::string_view bytes) noexcept {
  total_length_ += bytes.size();
  std::size_t i = 0;
  // Finish a block left incomplete by the previous part first.
  while (tail_length_ != 0 && i < bytes.size()) {
    tail_ |= std::uint32_t{static_cast<unsigned char>(bytes[i++])} << (8 * tail_length_);
    if (++tail_length_ == 4) {
      hash_ = mix_block(hash_, tail_);
      tail_ = 0;
      tail_length_ = 0;
    }
  }
  for (; i + 4 <= bytes.size(); i += 4) {
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data() + i);
    const std::uint32_t k = std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 |
                            std::uint32_t{p[2]} << 16 | std::uint32_t{p[3]} << 24;
    hash_ = mix_block(hash_, k);
  }
  for (; i < bytes.size(); ++i) {
    tail_ |= std::uint32_t{static_cast<unsigned char>(bytes[i])} << (8 * tail_length_);
    ++tail_length_;
  }
}

std::uint32_t Murmur3x86_32::finish() const noexcept {
  std::uint32_t h = hash_;
  if (tail_length_ != 0) h ^= scramble(tail_);
  // The reference mixes in the length as a 32-bit value.
  h ^= static_cast<std::uint32_t>(total_length_);
  return final_mix(h);
}

std::uint32_t murmur3_x86_32(std::string_view bytes, std::uint32_t seed) noexcept {
  Murmur3x86_32 hasher(seed);
  hasher.update(bytes);
  return hasher.finish();
}

std::uint8_t rollout_bucket(std::string_view group_id, std::string_view user_id) noexcept {
  Murmur3x86_32 hasher(0);
  hasher.update(group_id);
  hasher.update(":");
  hasher.update(user_id);
  return static_cast<std::uint8_t>(hasher.finish() % 100 + 1);
}

}  // namespace patchstream::flags
