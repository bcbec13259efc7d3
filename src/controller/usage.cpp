// The leader's usage recorder: turns the instance statuses agents publish into usage points
// (usage::Tracker) and writes them under /berth-usage/, where the API reads them on demand.
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <ctime>

#include "controller/controller.hpp"
#include "controller/tasks.hpp"
#include "model/model.hpp"
#include "util/log.hpp"

namespace berth::controller {

namespace asio = boost::asio;
namespace keys = model::keys;

asio::awaitable<void> Controller::record_usage(int64_t term) {
  asio::steady_timer timer(executor_);
  int64_t step = usage_.step();
  int64_t last_prune = 0;
  // A loop of an earlier term (lost and won again within a step) ends: one loop writes.
  while (term == term_ && leading_ && !stopping_) {
    // Samples fall on multiples of the step, so each leader writes the same keys.
    int64_t now = std::time(nullptr);
    int64_t next = now - now % step + step;
    timer.expires_after(std::chrono::seconds(next - now));
    co_await timer.async_wait(asio::use_awaitable);
    if (term != term_ || !leading_ || stopping_) break;
    bool prune = next - last_prune >= 60 * step;
    try {
      co_await record_usage_once(next, prune);
      if (prune) last_prune = next;
    } catch (const std::exception& e) {
      util::log("controller {}: usage: {}", id_, e.what());
    }
  }
}

asio::awaitable<void> Controller::record_usage_once(int64_t now, bool prune) {
  std::map<std::string, std::vector<usage::Reading>> readings;
  for (auto* kv : state_.under(keys::kStatus)) {
    std::string instance = kv->key.substr(keys::kStatus.size());
    auto status = model::parse<model::InstanceStatus>(kv->value);
    readings[instance.substr(0, instance.find('/'))].push_back(
        {instance, model::to_string(status.role), status.state == model::InstanceState::healthy,
         status.memory_used_bytes, status.keys, status.connections, status.operations,
         parse_time(status.updated_at)});
  }
  std::vector<std::string> present;
  std::vector<store::Operation> ops;
  for (auto* kv : state_.under(keys::kDatabases)) {
    auto db = model::parse<model::Database>(kv->value);
    present.push_back(db.id);
    auto observed = usage_.observe(db.id, db.memory_mb << 20, readings[db.id], now);
    if (observed.fine)
      ops.push_back(store::Operation::put(usage::key(db.id, usage::Tier::Fine, now),
                                          nlohmann::json(*observed.fine).dump()));
    if (observed.coarse)
      ops.push_back(
          store::Operation::put(usage::key(db.id, usage::Tier::Coarse, observed.coarse->time),
                                nlohmann::json(*observed.coarse).dump()));
    if (prune) {
      ops.push_back(store::Operation::erase_range(
          usage::tier_prefix(db.id, usage::Tier::Fine),
          usage::key(db.id, usage::Tier::Fine, now - usage_.step() * usage::kFinePoints)));
      ops.push_back(store::Operation::erase_range(
          usage::tier_prefix(db.id, usage::Tier::Coarse),
          usage::key(db.id, usage::Tier::Coarse, now - usage::kCoarseKeep)));
    }
  }
  usage_.retain(present);
  int64_t revision = co_await leader_txn_batched(ops);
  // A database deleted between our look and our write keeps the points we wrote after its
  // delete removed the rest: once the mirror has caught up with our write, remove them too.
  if (revision == 0 || !co_await state_.wait_revision(revision, std::chrono::seconds(2))) co_return;
  std::vector<store::Operation> orphans;
  for (auto& id : present)
    if (!state_.find(keys::database(id)))
      orphans.push_back(store::Operation::erase_prefix(usage::database_prefix(id)));
  co_await leader_txn_batched(orphans);
}

asio::awaitable<int64_t> Controller::leader_txn_batched(const std::vector<store::Operation>& ops) {
  // etcd takes at most 128 operations in one transaction; a deposed leader writes nothing.
  int64_t revision = 0;
  for (size_t start = 0; start < ops.size(); start += 100) {
    std::vector<store::Operation> batch(ops.begin() + start,
                                        ops.begin() + std::min(ops.size(), start + 100));
    std::vector<store::Compare> leading{store::Compare::value_is(keys::kLeader, id_)};
    auto result = co_await store_.txn(leading, batch);
    if (!result.succeeded) co_return 0;
    revision = result.revision;
  }
  co_return revision;
}

}  // namespace berth::controller
