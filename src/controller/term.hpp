// One term of leadership: the owners that run while this server leads (reconciler, primary
// prober, event recorder, usage recorder, switchover runner, etcd upkeep), started together when
// the term begins and stopped together when the lease is lost or the server resigns.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "backup/object_store.hpp"
#include "state/view.hpp"
#include "store/mirror.hpp"
#include "store/store.hpp"
#include "usage/usage.hpp"

namespace berth::controller {

class Leadership;

// What every owner of a term works with.
struct TermContext {
  boost::asio::any_io_executor executor;
  store::Store& store;
  store::Mirror& state;     // for its waits, and the keys the view does not decode
  const state::View& view;  // the same state, typed
  std::string leader_id;    // the value of /berth/leader while this term lasts
};

// Writes ops in transactions of at most 100 that hold only while this server leads; the
// revision of the last, 0 when one did not apply.
boost::asio::awaitable<int64_t> leader_txn_batched(const TermContext& term,
                                                   const std::vector<store::Operation>& ops);

struct TermSettings {
  // Where retention removes the backup objects it prunes (none: it removes none).
  std::shared_ptr<backup::ObjectStore> backups;
  int64_t usage_step = usage::kDefaultStep;    // seconds between usage samples
  std::chrono::seconds compact_interval{300};  // etcd's history kept, at least
  int64_t etcd_quota_bytes = int64_t{2} << 30;
};

// Leads until leadership.keep() returns or the caller is stopped; returns once every owner it
// started has ended. Counts the failovers it committed into *failovers.
boost::asio::awaitable<void> run_term(const TermContext& term, const TermSettings& settings,
                                      Leadership& leadership, int64_t* failovers);

}  // namespace berth::controller
