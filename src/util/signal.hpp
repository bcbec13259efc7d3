// A condition variable for coroutines on one executor: wait() suspends until notify_all()
// or a deadline. Callers re-check their condition in a loop, as with std::condition_variable.
// A notification with nobody waiting is kept for the next wait(), which returns at once: a
// loop busy elsewhere when it came (probing, publishing) must not sleep through it.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <list>

namespace berth::util {

class Signal {
 public:
  explicit Signal(boost::asio::any_io_executor executor) : executor_(std::move(executor)) {}

  // Returns false when the deadline passed without a notification.
  boost::asio::awaitable<bool> wait(std::chrono::steady_clock::time_point deadline);
  void notify_all();

 private:
  boost::asio::any_io_executor executor_;
  std::list<boost::asio::steady_timer*> waiters_;
  bool pending_ = false;
};

}  // namespace berth::util
