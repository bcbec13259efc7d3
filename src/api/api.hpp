// The REST API (/v1): validates requests, turns them into etcd transactions, and answers
// reads from a watched mirror of the whole state. Owns the admin token.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "http/http.hpp"
#include "model/model.hpp"
#include "scheduler/placement.hpp"
#include "state/view.hpp"
#include "store/mirror.hpp"
#include "store/store.hpp"

namespace berth::engines {
class Engine;
}
namespace berth::backup {
class ObjectStore;
}

namespace berth::api {

struct Options {
  std::string listen = "127.0.0.1:7070";
  std::string token_file;  // where the admin token is written at first start
  std::chrono::seconds create_wait{60};
  std::shared_ptr<backup::ObjectStore> backups;  // the backup store, built at start-up
  int64_t usage_step = 15;                       // seconds between usage samples
};

class Api {
 public:
  Api(boost::asio::any_io_executor executor, store::Store& store, Options options);
  ~Api();

  // Makes the admin token if there is none, loads the state and starts listening.
  boost::asio::awaitable<void> start();
  void stop();
  uint16_t port() const;
  store::Mirror& state() { return state_; }
  // The same state decoded into typed records (state::View follows state()).
  state::View& view() { return view_; }

  // Routes one request (public for tests and for embedding).
  boost::asio::awaitable<http::Response> handle(const http::ServerRequest& request);
  // handle(), timed for berth_api_request_duration_seconds: what the listener calls.
  boost::asio::awaitable<http::Response> serve(const http::ServerRequest& request);

 private:
  boost::asio::awaitable<void> ensure_admin_token();
  bool authorized(const http::ServerRequest& request) const;

  boost::asio::awaitable<http::Response> create_database(const http::ServerRequest& request);
  http::Response list_databases() const;
  http::Response get_database(const std::string& ref) const;
  boost::asio::awaitable<http::Response> delete_database(const std::string& ref);
  boost::asio::awaitable<http::Response> update_database(const std::string& ref,
                                                         const http::ServerRequest& request);
  http::Response list_hosts() const;
  nlohmann::json host_view(const std::string& name) const;
  boost::asio::awaitable<http::Response> drain_host(const std::string& name, bool drain);
  boost::asio::awaitable<http::Response> switchover_database(const std::string& ref,
                                                             const http::ServerRequest& request);
  http::Response get_network() const;
  boost::asio::awaitable<http::Response> set_network(const http::ServerRequest& request);

  // Tasks and backups (api/tasks.cpp).
  bool task_running_for(const std::string& database_id) const;
  boost::asio::awaitable<http::Response> start_task(model::Task task,
                                                    std::vector<store::Compare> compares,
                                                    std::vector<store::Operation> ops);
  boost::asio::awaitable<http::Response> start_backup(const std::string& ref,
                                                      const http::ServerRequest& request);
  boost::asio::awaitable<http::Response> start_restore(const std::string& ref,
                                                       const http::ServerRequest& request);
  // POST /v1/backups/{id}/restore {"to": NAME}: a new database made from a backup.
  boost::asio::awaitable<http::Response> restore_to_new(const std::string& backup_id,
                                                        const http::ServerRequest& request);
  http::Response list_tasks(const http::ServerRequest& request) const;
  boost::asio::awaitable<http::Response> get_task(const std::string& id,
                                                  const http::ServerRequest& request);
  boost::asio::awaitable<http::Response> cancel_task(const std::string& id);
  http::Response list_backups(const http::ServerRequest& request) const;
  http::Response get_backup(const std::string& id) const;
  boost::asio::awaitable<http::Response> delete_backup(const std::string& id);
  boost::asio::awaitable<http::Response> backup_data(const std::string& id) const;

  // Usage and events (api/observe.cpp).
  boost::asio::awaitable<http::Response> get_usage(const std::string& ref,
                                                   const http::ServerRequest& request);
  boost::asio::awaitable<http::Response> list_events(const http::ServerRequest& request);

  std::string engine_image(const engines::Engine& engine) const;
  boost::asio::awaitable<http::Response> set_engine(const std::string& name,
                                                    const http::ServerRequest& request);

  // The database record a name or id refers to; empty when none.
  std::string resolve(const std::string& ref) const;
  // What GET /v1/databases/{id} shows of a database (null when there is none).
  nlohmann::json database_view(const std::string& id) const;
  // The same, serialised, from a cache checked against the revisions of what it was made of.
  const std::string& cached_view(const std::string& id) const;
  // Picks `count` free pool addresses and holds them in pending_addresses_ until
  // release_addresses, so concurrent requests on this server do not pick the same ones.
  // Empty when the pool is exhausted.
  std::vector<std::string> reserve_addresses(const model::NetworkConfig& network, int count);
  void release_addresses(const std::vector<std::string>& ips);
  // A transaction; nullopt when etcd does not answer.
  boost::asio::awaitable<std::optional<store::TxnResult>> try_txn(
      std::vector<store::Compare> compares, std::vector<store::Operation> ops);
  // A new instance record of db: number n on host at ip.
  model::Allocation new_allocation(const model::Database& db, int n, const std::string& host,
                                   const std::string& ip) const;

  boost::asio::any_io_executor executor_;
  store::Store& store_;
  Options options_;
  store::Mirror state_;
  state::View view_{state_};  // after state_: it follows it
  std::unique_ptr<http::Server> server_;
  std::set<std::string> pending_addresses_;  // being reserved by this server right now

  // Reads are served from caches that a change in etcd invalidates (see cached_view).
  struct CachedView {
    std::vector<int64_t> inputs;  // mod revisions of the records the view was made from
    std::string name;
    std::string body;
  };
  mutable std::unordered_map<std::string, CachedView> views_;  // by database id
  mutable int64_t list_revision_ = -1;                         // the mirror's, for list_body_
  mutable std::string list_body_;
  // The last token that matched the admin token hash, with that hash: no sha256 per request.
  mutable std::string authorized_token_, authorized_hash_;
};

}  // namespace berth::api
