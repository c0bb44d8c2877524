// Log-bucketed latency histogram.
#include "alerting/latency_histogram.h"

#include <algorithm>
#include <cmath>

namespace patchstream::alerting {

void LatencyHistogram::record(double seconds) noexcept {
  int bucket = 0;
  // NaN and negatives (a clock step) land in bucket 0 rather than anywhere undefined.
  if (seconds >= kMinSeconds) {
    const double position = std::log2(seconds / kMinSeconds) * kBucketsPerDoubling;
    bucket = position >= kBucketCount - 2 ? kBucketCount - 1 : 1 + static_cast<int>(position);
  }
  ++buckets_[static_cast<std::size_t>(bucket)];
  ++count_;
}

void LatencyHistogram::add(const LatencyHistogram& other) noexcept {
  for (std::size_t i = 0; i < buckets_.size(); ++i)
    buckets_[i] += other.buckets_[i];
  count_ += other.count_;
}

void LatencyHistogram::clear() noexcept {
  buckets_.fill(0);
  count_ = 0;
}

double LatencyHistogram::lower_bound(int bucket) noexcept {
  if (bucket <= 0) return 0.0;
  return kMinSeconds * std::exp2(static_cast<double>(bucket - 1) / kBucketsPerDoubling);
}

double LatencyHistogram::quantile(double q) const noexcept {
  if (count_ == 0) return 0.0;
  const double rank = std::clamp(q, 0.0, 1.0) * static_cast<double>(count_);
  double below = 0;
  for (int i = 0; i < kBucketCount; ++i) {
    const double here = buckets_[static_cast<std::size_t>(i)];
    if (here == 0 || below + here < rank) {
      below += here;
      continue;
    }
    const double low = lower_bound(i);
    if (i == kBucketCount - 1) return low;  // unbounded above: report what is known
    const double fraction = (rank - below) / here;
    return low + (lower_bound(i + 1) - low) * fraction;
  }
  return lower_bound(kBucketCount - 1);
}

}  // namespace patchstream::alerting
