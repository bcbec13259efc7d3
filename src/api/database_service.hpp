// Makes and changes databases: the one place a database is created (POST /v1/databases and a
// restore into a new database both come here), and where a planned change is committed.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "api/context.hpp"
#include "api/requests.hpp"

namespace berth::api {

class DatabaseService {
 public:
  explicit DatabaseService(Context& c) : c_(c) {}

  struct Created {
    Invalid problem;  // set: nothing was created
    std::string id;
    bool healthy = false;  // every instance answered within the wait
    // The database as GET shows it, plus its password (shown this once), how to connect,
    // and, when it is not running yet, what its instances report ("message").
    nlohmann::json view;
  };
  // Places the instances, reserves the addresses and writes it all in one transaction; then,
  // if wait, waits until it runs (Options::create_wait at most; a failed instance ends it).
  boost::asio::awaitable<Created> create(const CreateRequest& request, bool wait);

  struct Updated {
    Invalid problem;       // set: nothing was changed
    bool applied = false;  // every instance runs with the change within the wait
  };
  // Plans the change (plan_update), commits it in one transaction guarded by what it read,
  // and waits until the instances apply it.
  boost::asio::awaitable<Updated> update(const std::string& id, const std::string& ref,
                                         const UpdateRequest& request);

 private:
  // A new instance record of db: number n on host at ip.
  model::Allocation new_allocation(const model::Database& db, int n, const std::string& host,
                                   const std::string& ip) const;
  // Why a new database is not running: what each instance that is not healthy reports.
  std::string not_running(const std::string& id, int replicas) const;

  Context& c_;
};

}  // namespace berth::api
