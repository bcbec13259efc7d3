// A group of coroutines with one owner and one stop: each child runs with its own cancellation
// signal, cancel() stops them all, join() waits until the last has ended. No child outlives it.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/cancellation_state.hpp>
#include <boost/asio/this_coro.hpp>
#include <list>
#include <string>

#include "util/signal.hpp"

namespace berth::controller {

// True once the coroutine whose state this is has been asked to stop (its owner's cancel()).
// Read the state first, where co_await is allowed (not in a catch block):
//   auto stop = co_await boost::asio::this_coro::cancellation_state;
inline bool stopped(const boost::asio::cancellation_state& state) {
  return state.cancelled() != boost::asio::cancellation_type::none;
}

class Scope {
 public:
  Scope(boost::asio::any_io_executor executor, std::string name);
  // The owner must have joined: children's completions refer to their scope.
  ~Scope();
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

  // Starts child on the executor; an exception that ends it is logged under name.
  void spawn(boost::asio::awaitable<void> child);
  // Asks every running child to stop (terminal cancellation: its pending wait fails).
  void cancel();
  // Waits until no child runs, even when the caller itself is being stopped.
  boost::asio::awaitable<void> join();
  size_t size() const { return children_.size(); }

 private:
  boost::asio::any_io_executor executor_;
  std::string name_;
  std::list<boost::asio::cancellation_signal> children_;
  util::Signal ended_;
  bool cancelled_ = false;  // so that the ends of stopped children are not reported as errors
};

}  // namespace berth::controller
