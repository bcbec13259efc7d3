#include "controller/controller.hpp"

#include "util/log.hpp"

namespace berth::controller {

namespace asio = boost::asio;

Controller::Controller(asio::any_io_executor executor, store::Store& store, state::View& view,
                       std::string id, int lease_ttl_seconds)
    : term_{executor, store, *view.mirror(), view, id},
      leadership_(executor, store, *view.mirror(), id, lease_ttl_seconds),
      scope_(executor, "controller " + id) {}

asio::awaitable<void> Controller::run() {
  scope_.spawn(serve());
  co_await scope_.join();
}

asio::awaitable<void> Controller::serve() {
  auto stop = co_await asio::this_coro::cancellation_state;
  while (!stopped(stop)) {
    bool won = false;
    try {
      won = co_await leadership_.campaign();
    } catch (const std::exception& e) {
      if (stopped(stop)) break;
      util::log("controller {}: campaign: {}", term_.leader_id, e.what());
    }
    if (won) {
      leading_ = true;
      co_await run_term(term_, settings_, leadership_, &failovers_);
      leading_ = false;
      continue;
    }
    co_await leadership_.wait_vacant();
  }
}

asio::awaitable<void> Controller::resign() {
  scope_.cancel();
  co_await scope_.join();
  co_await leadership_.resign();
}

}  // namespace berth::controller
