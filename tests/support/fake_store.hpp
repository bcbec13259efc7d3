// Test support: store::Store in memory, as etcd behaves: revisions, transactions with compares,
// leases a test can expire, and prefix watches that deliver every change in order from any
// revision. A test can make the whole store unreachable, or only stop it confirming leases.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "store/store.hpp"
#include "util/signal.hpp"

namespace berth::test {

namespace asio = boost::asio;

class FakeStore : public store::Store {
 public:
  explicit FakeStore(boost::asio::any_io_executor executor);

  // Test controls.
  // Every call throws store::Unavailable; watches deliver nothing until it comes back.
  void set_unavailable(bool unavailable);
  // Keep-alives throw store::Unavailable: etcd no longer confirms the lease (the rest works).
  void set_keep_alive_failing(bool failing) { keep_alive_failing_ = failing; }
  // What quorum_lost() answers: most of etcd's members down or leaderless.
  bool quorum_lost_answer = false;
  // The lease runs out: its keys go (as deletes a watch sees), keep-alives answer 0.
  void expire_lease(int64_t lease);
  // Forgets history before rev: a watch from an older revision throws Compacted.
  void forget_before(int64_t rev) { compacted_ = rev; }
  int64_t compacted() const { return compacted_; }
  // What status() and member_statuses() answer, and the members defragment() was asked of.
  store::StoreStatus status_answer;
  std::vector<store::MemberStatus> members_answer;
  std::vector<std::string> defragmented;

  // What the store holds, for assertions.
  int64_t revision() const { return revision_; }
  const store::KeyValue* find(const std::string& key) const;
  const std::map<std::string, store::KeyValue>& items() const { return data_; }
  bool lease_alive(int64_t lease) const;
  int keep_alives() const { return keep_alives_; }

  // store::Store
  asio::awaitable<store::RangeResult> get(std::string key) override;
  asio::awaitable<store::RangeResult> get_prefix(std::string prefix, int64_t revision) override;
  asio::awaitable<store::RangeResult> get_range(std::string from, std::string to) override;
  asio::awaitable<int64_t> put(std::string key, std::string value, int64_t lease) override;
  asio::awaitable<int64_t> erase(std::string key) override;
  asio::awaitable<store::TxnResult> txn(std::vector<store::Compare> compares,
                                        std::vector<store::Operation> success,
                                        std::vector<store::Operation> failure) override;
  asio::awaitable<int64_t> lease_grant(int64_t ttl_seconds) override;
  asio::awaitable<int64_t> lease_keep_alive(int64_t lease) override;
  asio::awaitable<void> lease_revoke(int64_t lease) override;
  asio::awaitable<void> compact(int64_t revision) override;
  asio::awaitable<store::StoreStatus> status() override;
  asio::awaitable<std::vector<store::MemberStatus>> member_statuses() override;
  asio::awaitable<void> defragment(std::string endpoint) override;
  asio::awaitable<bool> quorum_lost() override { co_return quorum_lost_answer; }
  asio::awaitable<void> watch(
      std::string prefix, int64_t start_revision,
      std::function<void(int64_t revision, const std::vector<store::WatchEvent>&)> on_events)
      override;

 private:
  struct Lease {
    int64_t ttl = 0;
    std::set<std::string> keys;
  };
  void check_available() const;
  bool holds(const store::Compare& compare) const;
  // Applies ops as one new revision; returns it.
  int64_t apply(const std::vector<store::Operation>& ops);
  void remove(const std::string& key, std::vector<store::WatchEvent>& events);
  // The keys under prefix as they were at revision rev (0: now).
  std::map<std::string, store::KeyValue> at(int64_t rev) const;

  boost::asio::any_io_executor executor_;
  std::map<std::string, store::KeyValue> data_;
  std::vector<std::pair<int64_t, store::WatchEvent>> history_;
  std::map<int64_t, Lease> leases_;
  int64_t revision_ = 1;
  int64_t compacted_ = 0;
  int64_t next_lease_ = 0x1000;
  int keep_alives_ = 0;
  bool unavailable_ = false;
  bool keep_alive_failing_ = false;
  util::Signal changed_;
};

}  // namespace berth::test
