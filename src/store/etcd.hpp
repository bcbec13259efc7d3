// The etcd v3 implementation of Store, over etcd's HTTP/JSON gateway (keep-alive connections,
// streaming watch). Talks to the first endpoint that answers and moves on when one fails.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <memory>

#include "http/http.hpp"
#include "store/store.hpp"

namespace berth::store {

// Who berth signs in to etcd as, when etcd's authentication (RBAC) is on: a user and its
// password. Empty: no sign-in (an etcd without authentication).
struct EtcdLogin {
  std::string user;
  std::string password;
};

class EtcdStore : public Store {
 public:
  // endpoints: "http://host:port" or "https://host:port" each; a comma-separated list is
  // accepted too. tls: the CA etcd's certificate is checked against and the client certificate
  // berth presents (an etcd with --client-cert-auth takes no request without one).
  EtcdStore(asio::any_io_executor executor, std::vector<std::string> endpoints,
            http::TlsOptions tls = {}, EtcdLogin login = {});
  ~EtcdStore() override;

  static std::vector<std::string> split_endpoints(const std::string& list);
  // Who is told of each request's duration (none by default); must outlive the store.
  void set_observer(Observer* observer) { observer_ = observer; }

  asio::awaitable<RangeResult> get(std::string key) override;
  asio::awaitable<RangeResult> get_prefix(std::string prefix, int64_t revision = 0) override;
  asio::awaitable<RangeResult> get_range(std::string from, std::string to) override;
  asio::awaitable<int64_t> put(std::string key, std::string value, int64_t lease = 0) override;
  asio::awaitable<int64_t> erase(std::string key) override;
  asio::awaitable<TxnResult> txn(std::vector<Compare> compares, std::vector<Operation> success,
                                 std::vector<Operation> failure = {}) override;
  asio::awaitable<int64_t> lease_grant(int64_t ttl_seconds) override;
  asio::awaitable<int64_t> lease_keep_alive(int64_t lease) override;
  asio::awaitable<void> lease_revoke(int64_t lease) override;
  asio::awaitable<void> compact(int64_t revision) override;
  asio::awaitable<StoreStatus> status() override;
  asio::awaitable<std::vector<MemberStatus>> member_statuses() override;
  asio::awaitable<void> defragment(std::string endpoint) override;
  asio::awaitable<void> learn_members() override;
  asio::awaitable<bool> quorum_lost() override;
  asio::awaitable<void> watch(
      std::string prefix, int64_t start_revision,
      std::function<void(int64_t, const std::vector<WatchEvent>&)> on_events) override;

  // One call to a gateway path with a JSON body, signed in and failed over like every other
  // (etcd's users and roles: /v3/auth/...). Returns the answer's body; throws on a refusal.
  asio::awaitable<std::string> gateway(const std::string& path, const std::string& body) {
    return call(path, body);
  }

 private:
  // POSTs a JSON body to a gateway path on the current endpoint, failing over to the others.
  asio::awaitable<std::string> call(const std::string& path, const std::string& body,
                                    std::chrono::milliseconds timeout = std::chrono::seconds(10));

  // Adds the sign-in token to request, signing in through client first when there is none.
  asio::awaitable<void> authorize(http::Client& client, http::Request& request);
  // Sends request signed in; on a lapsed token (401), signs in again and sends it once more.
  asio::awaitable<http::Response> signed_in_request(http::Client& client, http::Request request,
                                                    std::chrono::milliseconds timeout);

  asio::any_io_executor executor_;
  http::TlsOptions tls_;
  EtcdLogin login_;
  std::string token_;  // etcd's token for login_ (it lapses after --auth-token-ttl unused)
  std::vector<std::unique_ptr<http::Client>> clients_;
  size_t current_ = 0;
  // Every member's client endpoint, as etcd last listed them (learn_members).
  std::vector<std::shared_ptr<http::Client>> members_;
  Observer* observer_ = nullptr;
};

// The operation an etcd gateway path performs: range, put, deleterange, txn, lease_grant, ...
std::string etcd_operation(std::string_view gateway_path);

}  // namespace berth::store
