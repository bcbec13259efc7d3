#include "controller/scope.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>

#include "util/log.hpp"

namespace berth::controller {

namespace asio = boost::asio;
using namespace std::chrono_literals;

Scope::Scope(asio::any_io_executor executor, std::string name)
    : executor_(executor), name_(std::move(name)), ended_(executor) {}

Scope::~Scope() {
  cancel();
}

void Scope::spawn(asio::awaitable<void> child) {
  auto it = children_.emplace(children_.end());
  asio::co_spawn(executor_, std::move(child),
                 asio::bind_cancellation_slot(it->slot(), [this, it](std::exception_ptr error) {
                   if (error) {
                     try {
                       std::rethrow_exception(error);
                     } catch (const std::exception& e) {
                       // A child stopped by cancel() ends with whatever its aborted wait threw.
                       if (!cancelled_) util::log("{}: {}", name_, e.what());
                     }
                   }
                   // The signal goes once co_spawn has let go of its slot.
                   asio::post(executor_, [this, it] {
                     children_.erase(it);
                     ended_.notify_all();
                   });
                 }));
}

void Scope::cancel() {
  cancelled_ = true;
  for (auto& signal : children_) signal.emit(asio::cancellation_type::terminal);
}

asio::awaitable<void> Scope::join() {
  // Joining must finish even when the caller itself is being stopped: its children may not
  // outlive it.
  bool throws = co_await asio::this_coro::throw_if_cancelled();
  co_await asio::this_coro::throw_if_cancelled(false);
  while (!children_.empty()) co_await ended_.wait(std::chrono::steady_clock::now() + 24h);
  co_await asio::this_coro::throw_if_cancelled(throws);
}

}  // namespace berth::controller
