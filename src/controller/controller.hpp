// The controllers of the elected leader: one server at a time holds /berth/leader under its
// lease and applies the reconciler's plan (controller/plan) as etcd transactions.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "controller/plan.hpp"
#include "store/mirror.hpp"
#include "store/store.hpp"
#include "util/signal.hpp"

namespace berth::controller {

class Controller {
 public:
  Controller(boost::asio::any_io_executor executor, store::Store& store, store::Mirror& state,
             std::string id, int lease_ttl_seconds = 2);

  // Campaigns, leads while elected, campaigns again after losing: forever.
  boost::asio::awaitable<void> run();
  bool leading() const { return leading_; }
  // Steps down at once (revokes the lease) so another server takes over without waiting.
  boost::asio::awaitable<void> resign();

  int64_t failovers() const { return failovers_; }
  // Where backup data lives, so that retention can remove what it prunes.
  void set_backup_dir(std::string dir) { backup_dir_ = std::move(dir); }

 private:
  boost::asio::awaitable<bool> campaign();
  boost::asio::awaitable<void> lead();
  boost::asio::awaitable<void> keep_lease();
  boost::asio::awaitable<void> reconcile_once();
  void drop_unreferenced(const std::vector<std::string>& objects);
  boost::asio::awaitable<bool> primary_really_lost(const Snapshot& snapshot,
                                                   const std::string& database_id);
  // While leading: probes every primary that has replicas, to notice a lost host faster than
  // its lease can expire.
  boost::asio::awaitable<void> probe_primaries();
  boost::asio::awaitable<void> probe_one(std::string owner, std::string engine, std::string ip,
                                         int port, std::string password);

  boost::asio::any_io_executor executor_;
  store::Store& store_;
  store::Mirror& state_;
  std::string id_;
  int ttl_;
  int64_t lease_ = 0;
  bool leading_ = false;
  bool stopping_ = false;
  int64_t failovers_ = 0;
  util::Signal wake_;
  std::map<std::string, std::chrono::steady_clock::time_point> down_since_;  // "id/n"
  std::set<std::string> probing_;
  std::string backup_dir_;
};

}  // namespace berth::controller
