// Leadership: campaigns for /berth/leader under a lease of this server's, keeps that lease
// alive while it leads, and resigns. A term lasts from a won campaign until keep() returns.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <string>

#include "store/mirror.hpp"
#include "store/store.hpp"

namespace berth::controller {

class Leadership {
 public:
  Leadership(boost::asio::any_io_executor executor, store::Store& store, store::Mirror& state,
             std::string id, int lease_ttl_seconds);

  // The value this server writes at /berth/leader: every change it makes checks it.
  const std::string& id() const { return id_; }
  // Takes the leader key if it is vacant; true when elected.
  boost::asio::awaitable<bool> campaign();
  // Someone else leads: returns when the leader key goes (or after a while, to retry errors).
  boost::asio::awaitable<void> wait_vacant();
  // Renews the lease while this server leads; returns once it is lost or cannot be renewed in
  // time, which ends the term.
  boost::asio::awaitable<void> keep();
  // Revokes the lease so that another server takes over without waiting for it to expire.
  boost::asio::awaitable<void> resign();

 private:
  boost::asio::any_io_executor executor_;
  store::Store& store_;
  store::Mirror& state_;
  std::string id_;
  int ttl_;
  int64_t lease_ = 0;
};

}  // namespace berth::controller
