// Planned switchover with no lost write: pause writes on the primary, wait until the chosen
// replica has everything the primary acknowledged, then promote it under a new epoch in one
// transaction. Used by `berth switchover` and by draining a host.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <string>

#include "store/mirror.hpp"
#include "store/store.hpp"

namespace berth::controller {

struct SwitchoverResult {
  int status = 200;   // HTTP-style: 200 done, 404/409/422 refused, 503 could not finish
  std::string error;  // what went wrong, naming the field
  int promoted = -1;  // the instance now primary
};

// target_n < 0: the healthy replica with the highest offset.
boost::asio::awaitable<SwitchoverResult> switchover(boost::asio::any_io_executor executor,
                                                    store::Store& store, store::Mirror& state,
                                                    const std::string& database_id, int target_n);

}  // namespace berth::controller
