// Makes and changes databases: the one place a database is created (POST /v1/databases and a
// restore into a new database both come here), and where a planned change is committed.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "api/context.hpp"
#include "api/idempotency.hpp"
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
    std::string task_id;  // the task the creating request planned (a restore into it)
  };
  // Places the instances, reserves the addresses and writes it all in one transaction; then,
  // if wait, waits until it runs (Options::create_wait at most; a failed instance ends it).
  // With an idempotency key, the transaction records the database (and planned_task); a
  // request whose key was used before gets that database again, password and all.
  boost::asio::awaitable<Created> create(const CreateRequest& request, bool wait,
                                         const Idempotency& idem, const std::string& planned_task);

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
  // What a create answers about the database id: its view, password and how to connect.
  Created created(const std::string& id, bool wait, bool healthy) const;
  // The answer again for a request whose key made a database before.
  Created replay(const model::IdempotentOutcome& earlier) const;
  // Why a database is not running: what each instance that is not ready reports; empty when
  // every instance is healthy, each replica in sync and the primary holds the address.
  std::string not_running(const std::string& id) const;

  Context& c_;
};

}  // namespace berth::api
