#include "controller/upkeep.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

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
  if (expired.empty()) co_return;
  std::vector<store::Operation> erase;
  for (auto& key : expired) erase.push_back(store::Operation::erase(key));
  if (co_await leader_txn_batched(term_, erase) != 0)
    util::log("controller {}: pruned {} finished tasks and old request outcomes", term_.leader_id,
              expired.size());
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
  auto status = co_await term_.store.status();
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
