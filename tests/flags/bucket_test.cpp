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

struct HashVector {
  const char* group_id;
  const char* user_id;
  std::uint32_t hash;
  int bucket;
};

// Generated with Python's mmh3 5.3.1: mmh3.hash(f"{g}:{u}".encode(), 0, signed=False); the
// non-ASCII ones check that the bytes hashed are the UTF-8 bytes. test_bucket_mmh3.py compares
// thousands more against the live mmh3 package.
TEST(Bucket, MatchesPythonMmh3) {
  const HashVector vectors[] = {
      {"batch-patches-v1", "u-42", 3699225868u, 69},
      {"batch-patches-v1", "u-1", 3867036271u, 72},
      {"batch-patches-v1", "", 2675952423u, 24},
      {"", "", 723937430u, 31},
      {"g", "\xc3\xa9", 3962922133u, 34},
      {"gr\xc3\xbc\xc3\x9f"
       "e",
       "\xe3\x83\xa6\xe3\x83\xbc\xe3\x82\xb6\xe3\x83\xbc", 1238607125u, 26},
      {"a", "bc", 20160549u, 50},
      {"ab", "c", 1005222219u, 20},
      {"abc", "", 2144382016u, 17},
      {"checkout", "user-000123", 2356169388u, 89},
      {"xxxxxxxxxxxxxxxxx", "yyyyyyyyyyyyy", 4058914670u, 71},
      {"batch-patches-v1", "5f0c6a1e-0b7e-4a4f-9a55-3c1b6e1d2f10", 402954413u, 14},
  };
  for (const auto& v : vectors) {
    const std::string key = std::string(v.group_id) + ":" + v.user_id;
    EXPECT_EQ(murmur3_x86_32(key), v.hash) << key;
    EXPECT_EQ(rollout_bucket(v.group_id, v.user_id), v.bucket) << key;
  }
  EXPECT_EQ(murmur3_x86_32(""), 0u);
  EXPECT_EQ(murmur3_x86_32("hello"), 613153351u);
  EXPECT_EQ(murmur3_x86_32("hello", 42), 3806057185u);
}

// Feeding the key in pieces, split anywhere, gives the one-shot hash (the tail carries over).
TEST(Bucket, IncrementalHashingMatchesOneShot) {
  const std::string key = "Feature.flexibleRollout.10:user-0123456789";
  const std::uint32_t expected = murmur3_x86_32(key);
  for (std::size_t first = 0; first <= key.size(); ++first) {
    for (std::size_t second = first; second <= key.size(); second += 3) {
      Murmur3x86_32 hasher;
      hasher.update(std::string_view(key).substr(0, first));
      hasher.update(std::string_view(key).substr(first, second - first));
      hasher.update(std::string_view(key).substr(second));
      ASSERT_EQ(hasher.finish(), expected) << first << "," << second;
    }
  }
}

TEST(Bucket, AlwaysOneToHundred) {
  for (int i = 0; i < 10'000; ++i) {
    const auto bucket = rollout_bucket("g", std::to_string(i));
    ASSERT_GE(bucket, 1);
    ASSERT_LE(bucket, 100);
  }
}

}  // namespace
}  // namespace patchstream::flags
