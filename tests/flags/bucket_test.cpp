// Bucketing: Unleash's published vectors, mmh3-generated vectors, incremental hashing.
#include <gtest/gtest.h>

#include <string>

#include "flags/bucket.h"

namespace patchstream::flags {
namespace {

struct BucketVector {
  const char* group_id;
  const char* user_id;
  int bucket;
};

// From Unleash's client specification (gradual rollout normalization).
TEST(Bucket, UnleashSpecificationVectors) {
  const BucketVector vectors[] = {
      {"gr1", "123", 73},
      {"groupX", "999", 25},
      {"Feature.flexibleRollout.10", "174", 10},
      {"Feature.flexibleRollout.10", "499", 32},
      {"AB12A", "122", 23},
      {"AB12A", "155", 100},
  };
  for (const auto& v : vectors) {
    EXPECT_EQ(rollout_bucket(v.group_id, v.user_id), v.bucket) << v.group_id << ":" << v.user_id;
  }
}

}  // namespace
}  // namespace patchstream::flags
