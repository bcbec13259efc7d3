#include "controller/leadership.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "model/model.hpp"
#include "util/log.hpp"

namespace berth::controller {

namespace asio = boost::asio;
namespace keys = model::keys;
using namespace std::chrono_literals;

Leadership::Leadership(asio::any_io_executor executor, store::Store& store, store::Mirror& state,
                       std::string id, int lease_ttl_seconds)
    : executor_(executor),
      store_(store),
      state_(state),
      id_(std::move(id)),
      ttl_(lease_ttl_seconds) {}

asio::awaitable<bool> Leadership::campaign() {
  if (state_.find(keys::kLeader)) co_return false;
  lease_ = co_await store_.lease_grant(ttl_);
  std::vector<store::Compare> vacant{store::Compare::absent(keys::kLeader)};
  std::vector<store::Operation> take{store::Operation::put(keys::kLeader, id_, lease_)};
  auto result = co_await store_.txn(vacant, take);
  if (!result.succeeded) {
    co_await store_.lease_revoke(lease_);
    co_return false;
  }
  co_await state_.wait_revision(result.revision, 5s);
  util::log("controller {}: elected leader", id_);
  co_return true;
}

asio::awaitable<void> Leadership::wait_vacant() {
  co_await state_.wait_for([this] { return !state_.find(keys::kLeader); }, 1s);
}

asio::awaitable<void> Leadership::keep() {
  asio::steady_timer timer(executor_);
  auto last_ok = std::chrono::steady_clock::now();
  for (;;) {
    timer.expires_after(std::chrono::milliseconds(ttl_ * 1000 / 5));
    co_await timer.async_wait(asio::use_awaitable);
    try {
      if (co_await store_.lease_keep_alive(lease_) > 0) {
        last_ok = std::chrono::steady_clock::now();
        continue;
      }
      util::log("controller {}: leader lease expired", id_);
    } catch (const std::exception& e) {
      // Out of touch: step down before the lease can run out under us.
      if (std::chrono::steady_clock::now() - last_ok < std::chrono::milliseconds(ttl_ * 500))
        continue;
      util::log("controller {}: cannot renew the leader lease: {}", id_, e.what());
    }
    co_return;
  }
}

asio::awaitable<void> Leadership::resign() {
  if (!lease_) co_return;
  try {
    co_await store_.lease_revoke(lease_);
  } catch (const std::exception&) {
  }
}

}  // namespace berth::controller
