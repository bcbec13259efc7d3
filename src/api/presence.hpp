// A server announces itself under a lease (/berth/servers/ADDRESS) so that Prometheus service
// discovery lists it; the key vanishes when the server stops or dies.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <string>

#include "store/store.hpp"

namespace berth::api {

class Presence {
 public:
  Presence(boost::asio::any_io_executor executor, store::Store& store, std::string address,
           int ttl_seconds = 10);

  ~Presence();

  // Spawns run(), owned by this Presence: stop() (or the destructor) cancels it.
  void start();
  // Registers and keeps the lease alive until stop(); registers again after an etcd outage
  // that let the lease expire.
  boost::asio::awaitable<void> run();
  // Cancels what start() spawned and revokes the lease so the key goes at once.
  boost::asio::awaitable<void> stop();

 private:
  boost::asio::awaitable<bool> announce();

  boost::asio::any_io_executor executor_;
  store::Store& store_;
  std::string address_;
  int ttl_;
  int64_t lease_ = 0;
  bool stopping_ = false;
  boost::asio::cancellation_signal cancel_;
};

}  // namespace berth::api
