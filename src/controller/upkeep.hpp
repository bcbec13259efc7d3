// The etcd upkeep of a term: compacts etcd's history every interval down to the revision seen
// one interval earlier (as Kubernetes' API server does), prunes old tasks, defragments a member
// whose file is mostly free pages, and reports etcd's size, quota use and alarms, so that a
// filling etcd is heard of before it stops taking writes.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "controller/prune.hpp"
#include "controller/term.hpp"
#include "store/store.hpp"

namespace berth::controller {

// The revision to compact to: the one seen an interval ago, if the history before it is still
// there (0: nothing to do).
int64_t compaction_target(int64_t seen_an_interval_ago, int64_t compacted_to);
// etcd holds at least 80% of its quota: an operator must act (defragment, raise the quota).
bool etcd_filling(const store::StoreStatus& status, int64_t quota_bytes);

// The member to defragment now ("" for none): one whose file is more than half free pages
// (and at least min_free_bytes of them), and only while every member answers, so that the one
// stalled by its defragmentation never costs the cluster its quorum.
std::string defragment_target(const std::vector<store::MemberStatus>& members,
                              int64_t min_free_bytes);

struct UpkeepSettings {
  std::chrono::seconds compact_interval{300};
  int64_t quota_bytes = int64_t{2} << 30;  // etcd's default backend quota
  RecordRetention retention;               // what is pruned each round
  int64_t defragment_min_free_bytes = int64_t{8} << 20;
};

class EtcdUpkeep {
 public:
  EtcdUpkeep(const TermContext& term, UpkeepSettings settings) : term_(term), settings_(settings) {}

  // A round every interval until stopped.
  boost::asio::awaitable<void> run();
  // One round: compacts to what the last round saw, prunes what outlived its retention, then
  // reads etcd's size and alarms.
  boost::asio::awaitable<void> round();
  int64_t compacted_to() const { return compacted_to_; }

 private:
  boost::asio::awaitable<void> prune();
  boost::asio::awaitable<void> free_unowned_addresses();
  boost::asio::awaitable<void> defragment();
  const TermContext& term_;
  UpkeepSettings settings_;
  int64_t seen_ = 0;          // the revision seen at the last round
  int64_t compacted_to_ = 0;  // what this term compacted to
  std::string written_;       // the health last written this term (without its time)
};

}  // namespace berth::controller
