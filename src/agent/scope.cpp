#include "agent/scope.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>

#include "util/log.hpp"

namespace berth::agent {

namespace asio = boost::asio;

Scope::Scope(asio::any_io_executor executor) : executor_(executor), ended_(executor) {}

Scope::~Scope() {
  *alive_ = false;
  for (auto& child : children_) child.signal.emit(asio::cancellation_type::terminal);
}

void Scope::spawn(asio::awaitable<void> work, std::string what) {
  if (stopped_) return;
  auto it = children_.emplace(children_.end());
  asio::co_spawn(executor_, std::move(work),
                 asio::bind_cancellation_slot(
                     it->signal.slot(),
                     [this, it, alive = alive_, what = std::move(what)](std::exception_ptr error) {
                       if (!*alive) return;
                       // A cancelled coroutine ends with whatever its last wait threw.
                       if (error && !stopped_) {
                         try {
                           std::rethrow_exception(error);
                         } catch (const std::exception& e) {
                           util::log("{}: {}", what, e.what());
                         }
                       }
                       children_.erase(it);
                       ended_.notify_all();
                     }));
}

asio::awaitable<void> Scope::stop() {
  stopped_ = true;
  for (auto& child : children_) child.signal.emit(asio::cancellation_type::terminal);
  while (!children_.empty())
    co_await ended_.wait(std::chrono::steady_clock::now() + std::chrono::hours(1));
}

}  // namespace berth::agent
