// FetchWaker: wake at once after an empty poll, back off while waking brings nothing.
#include "stream/fetch_waker.h"

#include <gtest/gtest.h>

namespace patchstream {
namespace {

using namespace std::chrono_literals;
using Clock = FetchWaker::Clock;

TEST(FetchWaker, WakesAtOnceWhileMessagesFollow) {
  FetchWaker waker;
  const auto t0 = Clock::now();
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(waker.due(t0 + i * 1ms));
    waker.woke(3, t0 + i * 1ms);
    waker.message_arrived();  // the woken fetcher delivered
  }
  EXPECT_TRUE(waker.due(t0 + 5ms));
}

TEST(FetchWaker, BacksOffToASecondWhenWakingBringsNothing) {
  // e.g. an open upstream transaction: the watermark says waiting, nothing comes.
  FetchWaker waker;
  auto now = Clock::now();
  std::chrono::milliseconds expected = FetchWaker::kFirstRetry;
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(waker.due(now));
    waker.woke(1, now);
    EXPECT_FALSE(waker.due(now + expected - 1ms)) << "attempt " << i;
    now += expected;
    expected = std::min(expected * 2, FetchWaker::kLongestRetry);
  }
  EXPECT_EQ(expected, FetchWaker::kLongestRetry);
  waker.message_arrived();
  EXPECT_TRUE(waker.due(now));
}

TEST(FetchWaker, NothingWaitingIsNotABackoff) {
  FetchWaker waker;
  const auto t0 = Clock::now();
  waker.woke(0, t0);
  EXPECT_TRUE(waker.due(t0));
}

}  // namespace
}  // namespace patchstream
