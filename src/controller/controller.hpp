// The controllers of the elected leader: one server at a time holds /berth/leader under its
// lease (controller/leadership) and, for as long as it does, runs one term (controller/term).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <string>

#include "controller/leadership.hpp"
#include "controller/scope.hpp"
#include "controller/term.hpp"
#include "store/mirror.hpp"
#include "store/store.hpp"

namespace berth::controller {

class Controller {
 public:
  // view must follow a mirror (state::View(mirror)).
  Controller(boost::asio::any_io_executor executor, store::Store& store, state::View& view,
             std::string id, int lease_ttl_seconds = 2);

  // Campaigns, leads while elected, campaigns again after losing: until resign().
  boost::asio::awaitable<void> run();
  bool leading() const { return leading_; }
  // Stops whatever runs, then steps down at once (revokes the lease) so that another server
  // takes over without waiting.
  boost::asio::awaitable<void> resign();

  int64_t failovers() const { return failovers_; }
  // Where backup data lives, so that retention can remove what it prunes.
  void set_backup_store(std::shared_ptr<backup::ObjectStore> s) {
    settings_.backups = std::move(s);
  }
  // Seconds between usage samples (controller/usage.cpp); coarse points span 20 of them.
  void set_usage_step(int64_t seconds) { settings_.usage_step = seconds; }
  void set_etcd_upkeep(std::chrono::seconds compact_interval, int64_t quota_bytes) {
    settings_.compact_interval = compact_interval;
    settings_.etcd_quota_bytes = quota_bytes;
  }

 private:
  boost::asio::awaitable<void> serve();

  TermContext term_;
  Leadership leadership_;
  TermSettings settings_;
  Scope scope_;  // serve(): the one coroutine resign() stops
  bool leading_ = false;
  int64_t failovers_ = 0;
};

}  // namespace berth::controller
