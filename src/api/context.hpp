// What every API handler works with: the store, the watched state, the server's options, the
// addresses this server is reserving and the cached read views. Owned by the Api.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "api/views.hpp"
#include "model/model.hpp"
#include "state/view.hpp"
#include "store/mirror.hpp"
#include "store/store.hpp"

namespace berth::backup {
class ObjectStore;
}

namespace berth::api {

// What a server needs to let hosts join (POST /v1/join): the cluster CA and its key, and what a
// joined agent is handed: the etcd endpoints, the sealing key, an etcd user of its own.
struct JoinAuthority {
  std::string ca_cert_pem, ca_key_pem;
  std::vector<std::string> etcd_endpoints;
  std::string sealing_key_file;
  // etcd's users (store/etcd_auth.hpp); unset when etcd's authentication is off.
  std::function<boost::asio::awaitable<void>(const std::string& host, const std::string& password)>
      add_etcd_user;
  std::function<boost::asio::awaitable<void>(const std::string& host)> remove_etcd_user;
};

struct Options {
  std::string listen = "127.0.0.1:7070";
  std::string tls_cert_file, tls_key_file;  // PEM: set, the API speaks HTTPS only
  std::string token_file;                   // where the admin token is written at first start
  std::chrono::seconds create_wait{60};
  std::shared_ptr<backup::ObjectStore> backups;  // the backup store, built at start-up
  int64_t usage_step = 15;                       // seconds between usage samples
  std::string cluster_ca_file;  // checks agents' HTTPS (their logs); "" for the system's CAs
  std::shared_ptr<const JoinAuthority> join;  // none: this server lets no host join
};

struct Context {
  Context(boost::asio::any_io_executor executor, store::Store& store, Options options);

  // A transaction; nullopt when etcd does not answer.
  boost::asio::awaitable<std::optional<store::TxnResult>> try_txn(
      std::vector<store::Compare> compares, std::vector<store::Operation> ops);

  // Picks `count` free pool addresses and holds them until release_addresses, so concurrent
  // requests on this server do not pick the same ones. Empty when the pool is exhausted.
  std::vector<std::string> reserve_addresses(const model::NetworkConfig& network, int count);
  void release_addresses(const std::vector<std::string>& ips);

  boost::asio::any_io_executor executor;
  store::Store& store;
  Options options;
  store::Mirror state;
  state::View view{state};  // the same state as typed records; follows `state`
  ViewCache views;
  // Refused calls audited in the current second (record_call writes at most 20 a second).
  int64_t audit_second = 0;
  int audit_refusals = 0;

 private:
  std::set<std::string> pending_addresses_;  // being reserved by this server right now
};

// The 404 of a database reference that names nothing.
inline std::string no_database(const std::string& ref) {
  return "database: no database named or with id '" + ref + "'";
}

}  // namespace berth::api
