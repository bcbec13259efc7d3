#include "util/signal.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace berth::util {

boost::asio::awaitable<bool> Signal::wait(std::chrono::steady_clock::time_point deadline) {
  if (pending_) {
    pending_ = false;
    co_return true;
  }
  boost::asio::steady_timer timer(executor_, deadline);
  auto it = waiters_.insert(waiters_.end(), &timer);
  auto [ec] = co_await timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
  waiters_.erase(it);
  co_return ec == boost::asio::error::operation_aborted;
}

void Signal::notify_all() {
  if (waiters_.empty()) pending_ = true;
  for (auto* timer : waiters_) timer->cancel();
}

}  // namespace berth::util
