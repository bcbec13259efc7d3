#include "controller/upkeep.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "audit/audit.hpp"
#include "controller/prune.hpp"
#include "controller/scope.hpp"
#include "metrics/metrics.hpp"
#include "model/model.hpp"
#include "util/log.hpp"

namespace berth::controller {

namespace asio = boost::asio;

int64_t compaction_target(int64_t seen_an_interval_ago, int64_t compacted_to) {
  return seen_an_interval_ago > compacted_to ? seen_an_interval_ago : 0;
}

bool etcd_filling(const store::StoreStatus& status, int64_t quota_bytes) {
  return quota_bytes > 0 && status.db_size_bytes * 10 >= quota_bytes * 8;
}

std::string defragment_target(const std::vector<store::MemberStatus>& members,
                              int64_t min_free_bytes) {
  for (auto& m : members)
    if (!m.answered) return "";
  for (auto& m : members) {
    int64_t free = m.db_size_bytes - m.db_size_in_use_bytes;
    if (free * 2 > m.db_size_bytes && free >= min_free_bytes) return m.endpoint;
  }
  return "";
}

asio::awaitable<void> EtcdUpkeep::defragment() {
  auto members = co_await term_.store.member_statuses();
  auto target = defragment_target(members, settings_.defragment_min_free_bytes);
  if (target.empty()) co_return;
  int64_t before = 0;
  for (auto& m : members)
    if (m.endpoint == target) before = m.db_size_bytes;
  auto started = std::chrono::steady_clock::now();
  co_await term_.store.defragment(target);
  metrics::global()
      .counter("berth_etcd_defragmentations_total", "etcd members defragmented by the leader.")
      .inc();
  util::log("controller {}: defragmented etcd member {} ({} MiB file, mostly free pages) in {} ms",
            term_.leader_id, target, before >> 20,
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  started)
                .count());
}

asio::awaitable<void> EtcdUpkeep::run() {
  auto stop = co_await asio::this_coro::cancellation_state;
  asio::steady_timer timer(term_.executor);
  for (;;) {
    try {
      co_await round();
    } catch (const std::exception& e) {
      if (stopped(stop)) co_return;
      util::log("controller {}: etcd upkeep: {}", term_.leader_id, e.what());
    }
    timer.expires_after(settings_.compact_interval);
    co_await timer.async_wait(asio::use_awaitable);
  }
}

asio::awaitable<void> EtcdUpkeep::prune() {
  auto records = term_.state.under(model::keys::kTasks);
  for (auto& prefix : {model::keys::kIdempotency, model::keys::kTombstones}) {
    auto more = term_.state.under(prefix);
    records.insert(records.end(), more.begin(), more.end());
  }
  auto expired = expired_keys(records, std::time(nullptr), settings_.retention);
  for (auto& key : stray_statuses(term_.state.under(model::keys::kStatus))) expired.push_back(key);
  co_await free_unowned_addresses();
  // The audit log (not mirrored): what is older than its retention, in one range.
  std::vector<store::Operation> old_audit{store::Operation::erase_range(
      audit::kPrefix,
      audit::key_before((std::time(nullptr) - audit::kRetentionSeconds) * int64_t{1'000'000}))};
  co_await leader_txn_batched(term_, old_audit);
  if (expired.empty()) co_return;
  std::vector<store::Operation> erase;
  for (auto& key : expired) erase.push_back(store::Operation::erase(key));
  if (co_await leader_txn_batched(term_, erase) != 0)
    util::log("controller {}: pruned {} finished tasks and old request outcomes", term_.leader_id,
              expired.size());
}

asio::awaitable<void> EtcdUpkeep::free_unowned_addresses() {
  std::set<std::string> databases, tombstones;
  for (auto* kv : term_.state.under(model::keys::kDatabases))
    databases.insert(kv->key.substr(model::keys::kDatabases.size()));
  for (auto* kv : term_.state.under(model::keys::kTombstones))
    tombstones.insert(kv->key.substr(model::keys::kTombstones.size()));
  auto addresses = term_.state.under(model::keys::kAddresses);
  for (auto& key : unowned_addresses(addresses, databases, tombstones)) {
    // Only while we lead, and only if the owner is still the one judged gone.
    auto* kv = term_.state.find(key);
    if (!kv) continue;
    std::string owner = kv->value;  // the mirror may change while the txn is away
    std::vector<store::Compare> still{
        store::Compare::value_is(model::keys::kLeader, term_.leader_id),
        store::Compare::mod_revision_is(key, kv->mod_revision)};
    std::vector<store::Operation> erase{store::Operation::erase(key)};
    if ((co_await term_.store.txn(still, erase)).succeeded)
      util::log("controller {}: address {} returned to the pool (its owner {} is gone)",
                term_.leader_id, key.substr(model::keys::kAddresses.size()), owner);
  }
}

asio::awaitable<void> EtcdUpkeep::round() {
  // What was seen an interval ago is what every watcher has read by now: history before it
  // serves nobody. A watcher further behind reloads (store::Compacted).
  int64_t now = term_.state.revision();
  if (int64_t target = compaction_target(seen_, compacted_to_)) {
    try {
      co_await term_.store.compact(target);
      compacted_to_ = target;
    } catch (const store::Unavailable&) {
      throw;
    } catch (const std::exception& e) {
      // Another leader (or an operator) compacted further already: nothing lost.
      compacted_to_ = target;
      util::log("controller {}: etcd compaction to {}: {}", term_.leader_id, target, e.what());
    }
  }
  seen_ = now;
  co_await prune();
  // At most one member a round: the next one, if any, at the next round.
  try {
    co_await defragment();
  } catch (const store::Unavailable&) {
    throw;
  } catch (const std::exception& e) {
    util::log("controller {}: etcd defragmentation: {}", term_.leader_id, e.what());
  }
  auto status = co_await term_.store.status();
  // Writes outside the mirrored keys (usage points) move etcd's revision, not the mirror's: an
  // idle cluster writes only those, and its history would never be compacted.
  seen_ = std::max(seen_, status.revision);
  auto& registry = metrics::global();
  registry.gauge("berth_etcd_db_size_bytes", "Size of etcd's database file (the member asked).")
      .set(static_cast<double>(status.db_size_bytes));
  registry
      .gauge("berth_etcd_db_size_in_use_bytes",
             "What etcd's keys and their history take of the file.")
      .set(static_cast<double>(status.db_size_in_use_bytes));
  registry.gauge("berth_etcd_quota_bytes", "etcd's backend quota as berth knows it.")
      .set(static_cast<double>(settings_.quota_bytes));
  registry.gauge("berth_etcd_alarms", "Alarms etcd has raised (NOSPACE: it takes no writes).")
      .set(static_cast<double>(status.alarms.size()));
  registry.gauge("berth_etcd_compacted_revision", "The revision etcd's history starts at.")
      .set(static_cast<double>(compacted_to_));
  // Every server's /v1/health and the event log read it: written when its verdict changes
  // (and once a term), not every round.
  model::EtcdHealth health;
  health.db_size_bytes = status.db_size_bytes;
  health.quota_bytes = settings_.quota_bytes;
  health.alarms = status.alarms;
  health.filling = etcd_filling(status, settings_.quota_bytes) || !status.alarms.empty();
  std::string verdict =
      nlohmann::json{{"filling", health.filling}, {"alarms", health.alarms}}.dump();
  if (verdict == written_) co_return;
  if (health.filling)
    util::log(
        "controller {}: etcd holds {} MiB of its {} MiB quota{}: compact and defragment "
        "it, or raise --quota-backend-bytes",
        term_.leader_id, status.db_size_bytes >> 20, settings_.quota_bytes >> 20,
        status.alarms.empty() ? "" : ", alarm " + status.alarms.front());
  health.checked_at = model::now_rfc3339();
  std::vector<store::Operation> put{
      store::Operation::put(model::keys::kEtcdHealth, model::dump(health))};
  if (co_await leader_txn_batched(term_, put) != 0) written_ = verdict;
}

}  // namespace berth::controller
