// Per-event evaluation allocates nothing: global operator new is counted around the calls.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>

#include "flags/flag_registry.h"

// Counts heap allocations while armed, to prove evaluation allocates nothing.
namespace {
std::atomic<bool> counting{false};
std::atomic<long> allocations{0};
}  // namespace

void* operator new(std::size_t size) {
  if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}

namespace patchstream::flags {
namespace {

TEST(Evaluate, AllocatesNothing) {
  FlagDefinition f;
  f.name = "batch-patches-v1";
  f.enabled = true;
  f.percentage = 50;
  for (int i = 0; i < 1000; ++i) {
    f.allow_users.push_back("allowed-user-with-a-long-identifier-" + std::to_string(i));
    f.deny_users.push_back("denied-user-with-a-long-identifier-" + std::to_string(i));
  }
  normalize(f);
  FlagRegistry registry(std::make_shared<const FlagSnapshot>(std::vector<FlagDefinition>{f}));
  FlagReader reader(registry);
  const std::string long_user(300, 'u');  // longer than any small-string buffer
  int in = 0;
  allocations = 0;
  counting = true;
  for (int i = 0; i < 1000; ++i) {
    in += reader.evaluate("batch-patches-v1", long_user).pipeline;
    in += reader.evaluate("batch-patches-v1", "denied-user-with-a-long-identifier-7").pipeline;
    in += reader.evaluate("batch-patches-v1", "allowed-user-with-a-long-identifier-7").pipeline;
    in += reader.evaluate("unknown", long_user).pipeline;
  }
  counting = false;
  EXPECT_EQ(allocations.load(), 0);
  EXPECT_GE(in, 1000);
}

}  // namespace
}  // namespace patchstream::flags
