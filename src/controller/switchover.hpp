// Planned switchover with no lost write: pause writes on the primary, wait until the chosen
// replica has everything the primary acknowledged, then promote it under a new epoch in one
// transaction. The leader runs every switchover (`berth switchover` on any server, and draining
// a host); a server that receives the request asks the leader through etcd and waits.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <string>

#include "controller/switchover_request.hpp"
#include "state/view.hpp"
#include "store/mirror.hpp"
#include "store/store.hpp"

namespace berth::controller {

// Writes a switchover request for the leader and waits for its outcome. target_n < 0: the
// healthy replica with the highest offset. 409 when another switchover of the database is
// under way.
boost::asio::awaitable<SwitchoverResult> switchover(boost::asio::any_io_executor executor,
                                                    store::Store& store, store::Mirror& state,
                                                    const std::string& database_id, int target_n);

// The leader's hold on one request: the promotion applies only while it leads and the request
// is the one it claimed, and marks the request promoted in the same transaction.
struct SwitchoverClaim {
  std::string leader_id;
  int64_t create_revision = 0;  // of the request's key
  SwitchoverRequest request;
};

// The procedure itself, run by the leader (view follows state).
boost::asio::awaitable<SwitchoverResult> run_switchover(boost::asio::any_io_executor executor,
                                                        store::Store& store, store::Mirror& state,
                                                        const state::View& view,
                                                        const std::string& database_id,
                                                        const SwitchoverClaim& claim);

}  // namespace berth::controller
