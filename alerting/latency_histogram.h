// A fixed-size log-bucketed latency histogram: O(1) record without allocation, quantiles within
// one bucket (eight per doubling: 9% wide), mergeable, so sliding windows can sum time slots.
#pragma once

#include <array>
#include <cstdint>

namespace patchstream::alerting {

class LatencyHistogram {
 public:
  static constexpr double kMinSeconds = 1e-6;  // bucket 0 holds everything below
  static constexpr int kBucketsPerDoubling = 8;
  static constexpr int kDoublings = 28;  // up to 1e-6 * 2^28 s, about 268 s; above: the last bucket
  static constexpr int kBucketCount = kBucketsPerDoubling * kDoublings + 2;

  void record(double seconds) noexcept;
  void add(const LatencyHistogram& other) noexcept;
  void clear() noexcept;

  std::uint64_t count() const noexcept { return count_; }
  // Raw buckets, for shipping a histogram to another process and merging it there.
  std::uint32_t bucket(int index) const noexcept {
    return buckets_[static_cast<std::size_t>(index)];
  }
  void add_to_bucket(int index, std::uint32_t n) noexcept {
    buckets_[static_cast<std::size_t>(index)] += n;
    count_ += n;
  }
  // The q-quantile (0 < q <= 1) in seconds, interpolated inside its bucket; 0 when empty.
  double quantile(double q) const noexcept;

 private:
  static double lower_bound(int bucket) noexcept;

  std::array<std::uint32_t, kBucketCount> buckets_{};
  std::uint64_t count_ = 0;
};

}  // namespace patchstream::alerting
