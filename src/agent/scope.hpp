// One stop for everything an owner started: each coroutine spawned through a Scope is bound to
// its own cancellation signal, and stop() cancels them all and waits until every one has ended.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <list>
#include <memory>
#include <string>

#include "util/signal.hpp"

namespace berth::agent {

class Scope {
 public:
  explicit Scope(boost::asio::any_io_executor executor);
  // An owner calls stop() first; what still runs here is cancelled, and its completion no
  // longer touches this Scope.
  ~Scope();
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

  // Runs work until it returns or the scope stops. A failure is logged under what's name.
  // After stop() nothing new starts.
  void spawn(boost::asio::awaitable<void> work, std::string what);
  // Cancels every coroutine of the scope and waits until all have ended.
  boost::asio::awaitable<void> stop();
  bool stopped() const { return stopped_; }
  size_t running() const { return children_.size(); }

 private:
  struct Child {
    boost::asio::cancellation_signal signal;
  };
  boost::asio::any_io_executor executor_;
  std::list<Child> children_;
  util::Signal ended_;
  bool stopped_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace berth::agent
