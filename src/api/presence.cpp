#include "api/presence.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "model/model.hpp"
#include "util/log.hpp"

namespace berth::api {

namespace asio = boost::asio;

Presence::Presence(asio::any_io_executor executor, store::Store& store, std::string address,
                   int ttl_seconds)
    : executor_(executor), store_(store), address_(std::move(address)), ttl_(ttl_seconds) {}

Presence::~Presence() {
  cancel_.emit(asio::cancellation_type::all);
}

void Presence::start() {
  asio::co_spawn(executor_, run(), asio::bind_cancellation_slot(cancel_.slot(), asio::detached));
}

asio::awaitable<bool> Presence::announce() {
  try {
    model::Server record;
    record.address = address_;
    record.started_at = model::now_rfc3339();
    int64_t lease = co_await store_.lease_grant(ttl_);
    co_await store_.put(model::keys::server(address_), model::dump(record), lease);
    lease_ = lease;
    co_return true;
  } catch (const std::exception& e) {
    util::log("server: cannot announce {} yet: {}", address_, e.what());
  }
  co_return false;
}

asio::awaitable<void> Presence::run() {
  asio::steady_timer timer(executor_);
  while (!stopping_) {
    bool alive = false;
    if (lease_ == 0) {
      alive = co_await announce();
    } else {
      try {
        alive = co_await store_.lease_keep_alive(lease_) > 0;
        if (!alive) lease_ = 0;  // expired during an outage: announce again next round
      } catch (const std::exception&) {
        alive = true;  // etcd unreachable: the lease may still be alive; keep trying
      }
    }
    timer.expires_after(std::chrono::milliseconds(alive ? ttl_ * 1000 / 3 : 500));
    co_await timer.async_wait(asio::use_awaitable);
  }
}

asio::awaitable<void> Presence::stop() {
  stopping_ = true;
  cancel_.emit(asio::cancellation_type::all);
  if (lease_ == 0) co_return;
  try {
    co_await store_.lease_revoke(lease_);
  } catch (const std::exception&) {
  }
  lease_ = 0;
}

}  // namespace berth::api
