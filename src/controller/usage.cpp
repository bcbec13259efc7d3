#include "controller/usage.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <ctime>

#include "controller/scope.hpp"
#include "controller/tasks.hpp"
#include "model/model.hpp"
#include "util/log.hpp"

namespace berth::controller {

namespace asio = boost::asio;
namespace keys = model::keys;

asio::awaitable<void> UsageRecorder::run() {
  auto stop = co_await asio::this_coro::cancellation_state;
  asio::steady_timer timer(term_.executor);
  int64_t step = usage_.step();
  int64_t last_prune = 0;
  for (;;) {
    // Samples fall on multiples of the step, so each leader writes the same keys.
    int64_t now = std::time(nullptr);
    int64_t next = now - now % step + step;
    timer.expires_after(std::chrono::seconds(next - now));
    co_await timer.async_wait(asio::use_awaitable);
    bool prune = next - last_prune >= 60 * step;
    try {
      co_await record_once(next, prune);
      if (prune) last_prune = next;
    } catch (const std::exception& e) {
      if (stopped(stop)) co_return;
      util::log("controller {}: usage: {}", term_.leader_id, e.what());
    }
  }
}

asio::awaitable<void> UsageRecorder::record_once(int64_t now, bool prune) {
  std::map<std::string, std::vector<usage::Reading>> readings;
  for (auto& [key, r] : term_.view.statuses()) {
    std::string host, id;
    int n = 0;
    if (!keys::parse_status_key(key, &host, &id, &n) || term_.view.status(id, n) != &r) continue;
    std::string instance = keys::instance_owner(id, n);
    auto& status = r.value;
    readings[instance.substr(0, instance.find('/'))].push_back(
        {instance, model::to_string(status.role), status.state == model::InstanceState::healthy,
         status.memory_used_bytes, status.keys, status.connections, status.operations,
         parse_time(status.updated_at)});
  }
  std::vector<std::string> present;
  std::vector<store::Operation> ops;
  for (auto& [id, r] : term_.view.databases()) {
    auto& db = r.value;
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
  int64_t revision = co_await leader_txn_batched(term_, ops);
  // A database deleted between our look and our write keeps the points we wrote after its
  // delete removed the rest: once the mirror has caught up with our write, remove them too.
  if (revision == 0 || !co_await term_.state.wait_revision(revision, std::chrono::seconds(2)))
    co_return;
  std::vector<store::Operation> orphans;
  for (auto& id : present)
    if (!term_.view.database(id))
      orphans.push_back(store::Operation::erase_prefix(usage::database_prefix(id)));
  co_await leader_txn_batched(term_, orphans);
}

}  // namespace berth::controller
