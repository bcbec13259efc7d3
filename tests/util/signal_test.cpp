// The coroutine condition variable: a notification reaches a waiter, or the next one.
#include "util/signal.hpp"

#include <gtest/gtest.h>

#include "support/run.hpp"

namespace berth::util {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

TEST(Signal, ANotificationWithNobodyWaitingIsKeptForTheNextWait) {
  test::run([](test::Executor ex) -> boost::asio::awaitable<void> {
    Signal signal(ex);
    auto started = Clock::now();
    EXPECT_FALSE(co_await signal.wait(Clock::now() + 50ms));  // nothing came: the deadline
    EXPECT_GE(Clock::now() - started, 50ms);
    signal.notify_all();  // while nobody waits (the loop was busy elsewhere)
    started = Clock::now();
    EXPECT_TRUE(co_await signal.wait(Clock::now() + 10s));
    EXPECT_LT(Clock::now() - started, 1s);
    // Kept once only.
    EXPECT_FALSE(co_await signal.wait(Clock::now() + 20ms));
  });
}

TEST(Signal, ANotificationWakesAWaiter) {
  test::run([](test::Executor ex) -> boost::asio::awaitable<void> {
    Signal signal(ex);
    boost::asio::steady_timer later(ex, 20ms);
    later.async_wait([&](boost::system::error_code) { signal.notify_all(); });
    auto started = Clock::now();
    EXPECT_TRUE(co_await signal.wait(Clock::now() + 10s));
    EXPECT_LT(Clock::now() - started, 5s);
    EXPECT_FALSE(co_await signal.wait(Clock::now() + 20ms)) << "nothing kept: it was heard";
  });
}

}  // namespace
}  // namespace berth::util
