// The controllers of the elected leader: one server at a time holds /berth/leader under its
// lease and applies the reconciler's plan (controller/plan) as etcd transactions.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "backup/object_store.hpp"
#include "controller/plan.hpp"
#include "events/events.hpp"
#include "store/mirror.hpp"
#include "store/store.hpp"
#include "usage/usage.hpp"
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
  void set_backup_store(std::shared_ptr<backup::ObjectStore> s) { backups_ = std::move(s); }
  // Seconds between usage samples (controller/usage.cpp); coarse points span 20 of them.
  void set_usage_step(int64_t seconds) { usage_ = usage::Tracker(seconds); }

 private:
  boost::asio::awaitable<bool> campaign();
  boost::asio::awaitable<void> lead();
  boost::asio::awaitable<void> keep_lease();
  boost::asio::awaitable<void> reconcile_once();
  boost::asio::awaitable<void> drop_unreferenced(std::vector<std::string> objects);
  boost::asio::awaitable<bool> primary_really_lost(const Snapshot& snapshot,
                                                   const std::string& database_id);
  // While leading: probes every primary that has replicas, to notice a lost host faster than
  // its lease can expire.
  boost::asio::awaitable<void> probe_primaries();
  // Writes the events between the last view of the state and now (controller/events.cpp);
  // the first view after an election is only a baseline.
  boost::asio::awaitable<void> record_events();
  events::View view_of_state();
  // While leading: samples every database's usage each step and prunes what has aged out.
  boost::asio::awaitable<void> record_usage(int64_t term);
  boost::asio::awaitable<void> record_usage_once(int64_t now, bool prune);
  // Writes ops in transactions of at most 100 that hold only while this server leads; the
  // revision of the last, 0 when one did not apply.
  boost::asio::awaitable<int64_t> leader_txn_batched(const std::vector<store::Operation>& ops);
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
  std::shared_ptr<backup::ObjectStore> backups_;
  usage::Tracker usage_;
  std::optional<events::View> last_view_;
  std::map<std::string, std::pair<int64_t, events::TaskView>> task_views_;  // by key: mod rev
  int64_t events_pruned_at_ = 0;
  int64_t events_last_micros_ = 0;     // event ids only grow, whatever the clock does
  std::set<std::string> failed_over_;  // since the last events were written
  int64_t term_ = 0;                   // counts elections won: loops of an old term end
};

}  // namespace berth::controller
