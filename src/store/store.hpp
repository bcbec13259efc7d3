// The distributed store berth keeps all its state in: KV with compare-and-swap transactions,
// leases and prefix watches. etcd implements it (store/etcd.*); nothing else touches etcd.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace berth::store {

namespace asio = boost::asio;

struct KeyValue {
  std::string key;
  std::string value;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
  int64_t version = 0;
  int64_t lease = 0;
};

struct RangeResult {
  std::vector<KeyValue> kvs;
  int64_t revision = 0;  // the store's revision when the range was read
};

struct Compare {
  enum class Target { Create, Mod, Version, Value };
  enum class Op { Equal, Greater, Less, NotEqual };
  std::string key;
  Target target = Target::Create;
  Op op = Op::Equal;
  int64_t number = 0;
  std::string value;

  // Helpers for the compares berth uses most.
  static Compare absent(std::string key) {
    return {std::move(key), Target::Create, Op::Equal, 0, {}};
  }
  static Compare present(std::string key) {
    return {std::move(key), Target::Create, Op::Greater, 0, {}};
  }
  static Compare mod_revision_is(std::string key, int64_t rev) {
    return {std::move(key), Target::Mod, Op::Equal, rev, {}};
  }
  static Compare value_is(std::string key, std::string value) {
    return {std::move(key), Target::Value, Op::Equal, 0, std::move(value)};
  }
};

struct Operation {
  enum class Kind { Put, Delete, DeletePrefix, DeleteRange };
  Kind kind = Kind::Put;
  std::string key;
  std::string value;
  int64_t lease = 0;
  std::string range_end;  // DeleteRange: every key in [key, range_end)

  static Operation put(std::string key, std::string value, int64_t lease = 0) {
    return {Kind::Put, std::move(key), std::move(value), lease};
  }
  static Operation erase(std::string key) { return {Kind::Delete, std::move(key), {}, 0}; }
  static Operation erase_prefix(std::string prefix) {
    return {Kind::DeletePrefix, std::move(prefix), {}, 0};
  }
  static Operation erase_range(std::string from, std::string to) {
    return {Kind::DeleteRange, std::move(from), {}, 0, std::move(to)};
  }
};

struct TxnResult {
  bool succeeded = false;
  int64_t revision = 0;
};

struct WatchEvent {
  enum class Type { Put, Delete };
  Type type = Type::Put;
  KeyValue kv;
};

// Thrown when no endpoint of the store answers.
struct Unavailable : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// Thrown by watch when the start revision has been compacted away: reload and watch again.
struct Compacted : std::runtime_error {
  int64_t compact_revision;
  Compacted(int64_t rev) : std::runtime_error("watch revision compacted"), compact_revision(rev) {}
};

// What etcd says of its database (the member asked).
struct StoreStatus {
  int64_t db_size_bytes = 0;         // the file, free pages included
  int64_t db_size_in_use_bytes = 0;  // what the keys and their history take
  std::vector<std::string> alarms;   // raised alarms (NOSPACE: etcd takes no more writes)
  int64_t revision = 0;              // etcd's newest revision as it answered
};

// One member's word on its own database file (answered: false when it did not answer).
struct MemberStatus {
  std::string endpoint;
  bool answered = false;
  int64_t db_size_bytes = 0;
  int64_t db_size_in_use_bytes = 0;
};

// Told how long each operation on the store took ("range", "put", "txn", "lease_keepalive",
// ...), so that metrics can time them without the store depending on the metrics code.
class Observer {
 public:
  virtual ~Observer() = default;
  virtual void operation(std::string_view op, double seconds) = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  virtual asio::awaitable<RangeResult> get(std::string key) = 0;
  // revision 0: the newest; otherwise the keys as they were at that revision.
  virtual asio::awaitable<RangeResult> get_prefix(std::string prefix, int64_t revision = 0) = 0;
  // Every key in [from, to), in key order.
  virtual asio::awaitable<RangeResult> get_range(std::string from, std::string to) = 0;
  virtual asio::awaitable<int64_t> put(std::string key, std::string value, int64_t lease = 0) = 0;
  virtual asio::awaitable<int64_t> erase(std::string key) = 0;
  virtual asio::awaitable<TxnResult> txn(std::vector<Compare> compares,
                                         std::vector<Operation> success,
                                         std::vector<Operation> failure = {}) = 0;

  // Leases: grant returns the lease id; keep_alive returns the remaining TTL in seconds,
  // 0 when the lease has expired.
  virtual asio::awaitable<int64_t> lease_grant(int64_t ttl_seconds) = 0;
  virtual asio::awaitable<int64_t> lease_keep_alive(int64_t lease) = 0;
  virtual asio::awaitable<void> lease_revoke(int64_t lease) = 0;

  // Drops the history before revision; the keys as they are stay. Throws when the revision is
  // compacted already.
  virtual asio::awaitable<void> compact(int64_t revision) = 0;
  virtual asio::awaitable<StoreStatus> status() = 0;
  // Every member's status, each asked on its own (a store of one endpoint: that one).
  virtual asio::awaitable<std::vector<MemberStatus>> member_statuses() {
    std::vector<MemberStatus> none;  // a named local: g++ 12 and braced co_return values
    co_return none;
  }
  // Asks etcd for its members and remembers where each takes clients, if it answers there
  // now (quorum_lost asks them all, not only the endpoints this store was given).
  virtual asio::awaitable<void> learn_members() { co_return; }
  // True only when most members of the cluster (as last learned) are down or leaderless: no
  // write can commit anywhere, so no replica can be promoted. False when unsure.
  virtual asio::awaitable<bool> quorum_lost() { co_return false; }
  // Gives the free pages of the member at endpoint back to the file system. The member stalls
  // while it runs: one member at a time.
  virtual asio::awaitable<void> defragment(std::string endpoint) {
    (void)endpoint;
    co_return;
  }

  // Streams every change under prefix from start_revision on, in order, until the coroutine
  // is stopped. Reconnects on its own and resumes after the last revision it delivered.
  // Throws Compacted when start_revision is no longer available.
  virtual asio::awaitable<void> watch(
      std::string prefix, int64_t start_revision,
      std::function<void(int64_t revision, const std::vector<WatchEvent>&)> on_events) = 0;
};

// The key just past every key that starts with prefix (etcd's range_end for a prefix).
std::string prefix_end(const std::string& prefix);

}  // namespace berth::store
