#include "controller/controller.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "backup/object_store.hpp"
#include "controller/plan.hpp"
#include "controller/switchover.hpp"
#include "controller/tasks.hpp"
#include "engines/engine.hpp"
#include "metrics/berth.hpp"
#include "model/model.hpp"
#include "scheduler/snapshot.hpp"
#include "util/log.hpp"

namespace berth::controller {

namespace asio = boost::asio;
namespace keys = model::keys;
using namespace std::chrono_literals;

Controller::Controller(asio::any_io_executor executor, store::Store& store, store::Mirror& state,
                       std::string id, int lease_ttl_seconds)
    : executor_(executor),
      store_(store),
      state_(state),
      id_(std::move(id)),
      ttl_(lease_ttl_seconds),
      wake_(executor) {}

asio::awaitable<void> Controller::run() {
  while (!stopping_) {
    bool won = false;
    try {
      won = co_await campaign();
    } catch (const std::exception& e) {
      util::log("controller {}: campaign: {}", id_, e.what());
    }
    if (won) {
      co_await lead();
      continue;
    }
    // Someone else leads: wait until the leader key goes (or a while, to retry errors).
    co_await state_.wait_for([this] { return !state_.find(keys::kLeader); }, 1s);
  }
}

asio::awaitable<bool> Controller::campaign() {
  if (state_.find(keys::kLeader)) co_return false;
  lease_ = co_await store_.lease_grant(ttl_);
  std::vector<store::Compare> vacant{store::Compare::absent(keys::kLeader)};
  std::vector<store::Operation> take{store::Operation::put(keys::kLeader, id_, lease_)};
  auto result = co_await store_.txn(vacant, take);
  if (!result.succeeded) {
    co_await store_.lease_revoke(lease_);
    co_return false;
  }
  co_await state_.wait_revision(result.revision, 5s);
  util::log("controller {}: elected leader", id_);
  co_return true;
}

asio::awaitable<void> Controller::keep_lease() {
  asio::steady_timer timer(executor_);
  auto last_ok = std::chrono::steady_clock::now();
  while (leading_) {
    timer.expires_after(std::chrono::milliseconds(ttl_ * 1000 / 5));
    co_await timer.async_wait(asio::use_awaitable);
    if (!leading_) break;
    try {
      if (co_await store_.lease_keep_alive(lease_) > 0) {
        last_ok = std::chrono::steady_clock::now();
        continue;
      }
      util::log("controller {}: leader lease expired", id_);
    } catch (const std::exception& e) {
      // Out of touch: step down before the lease can run out under us.
      if (std::chrono::steady_clock::now() - last_ok < std::chrono::milliseconds(ttl_ * 500))
        continue;
      util::log("controller {}: cannot renew the leader lease: {}", id_, e.what());
    }
    leading_ = false;
    wake_.notify_all();
  }
}

asio::awaitable<void> Controller::lead() {
  leading_ = true;
  asio::co_spawn(executor_, keep_lease(), asio::detached);
  asio::co_spawn(executor_, probe_primaries(), asio::detached);
  asio::co_spawn(executor_, record_usage(++term_), asio::detached);
  while (leading_ && !stopping_) {
    try {
      co_await reconcile_once();
      co_await record_events();
    } catch (const std::exception& e) {
      util::log("controller {}: reconcile: {}", id_, e.what());
    }
    // React to every change of state at once; look again every 250 ms regardless.
    co_await state_.wait_change(250ms);
  }
  last_view_.reset();
  usage_ = usage::Tracker(usage_.step());  // another leader wrote meanwhile: start afresh
  util::log("controller {}: no longer leader", id_);
}

asio::awaitable<void> Controller::reconcile_once() {
  Snapshot snapshot;
  for (auto* kv : state_.under(keys::kDatabases)) {
    auto db = model::parse<model::Database>(kv->value);
    snapshot.databases[db.id] = {db, kv->mod_revision};
  }
  snapshot.hosts = scheduler::live_hosts(state_);
  for (auto* kv : state_.under(keys::kAllocations))
    snapshot.allocations.push_back(
        {kv->key, kv->mod_revision, model::parse<model::Allocation>(kv->value)});
  for (auto* kv : state_.under(keys::kStatus))
    snapshot.statuses[kv->key.substr(keys::kStatus.size())] =
        model::parse<model::InstanceStatus>(kv->value);
  for (auto* kv : state_.under(keys::kTasks)) {
    auto task = model::parse<model::Task>(kv->value);
    if (!model::task_finished(task.state)) snapshot.tasks.push_back({kv->mod_revision, task});
  }
  for (auto* kv : state_.under(keys::kTaskClaims))
    snapshot.claimed.insert(kv->key.substr(keys::kTaskClaims.size()));
  for (auto* kv : state_.under(keys::kBackups))
    snapshot.backups.push_back({kv->mod_revision, model::parse<model::Backup>(kv->value)});
  metrics::failovers_progress(snapshot.statuses);  // ends the clocks of failovers now served

  // A primary counts as unreachable after 600 ms without an answer to the leader's probes.
  auto now = std::chrono::steady_clock::now();
  for (auto& [owner, since] : down_since_)
    if (now - since >= 600ms) snapshot.unreachable.insert(owner);

  auto changes = plan(snapshot);
  for (auto& c : plan_tasks(snapshot)) changes.push_back(std::move(c));
  for (auto& c : plan_schedules(snapshot, std::time(nullptr))) changes.push_back(std::move(c));
  for (auto& change : changes) {
    if (!leading_) co_return;
    if (change.kind == "switchover") {
      auto r = co_await switchover(executor_, store_, state_, change.database_id, -1);
      util::log("controller {}: switchover {}: {}", id_, change.database_id,
                r.error.empty() ? "done" : r.error);
      co_return;  // plan again on the new state
    }
    if (change.kind == "failover" && !co_await primary_really_lost(snapshot, change.database_id))
      continue;
    auto decided = std::chrono::steady_clock::now();  // for berth_failover_duration_seconds
    // Every change also checks that we still lead: a deposed leader writes nothing.
    std::vector<store::Compare> compares{store::Compare::value_is(keys::kLeader, id_)};
    for (auto& [key, rev] : change.expect_mod_revision)
      compares.push_back(rev == 0 ? store::Compare::absent(key)
                                  : store::Compare::mod_revision_is(key, rev));
    std::vector<store::Operation> ops;
    for (auto& key : change.deletes) ops.push_back(store::Operation::erase(key));
    for (auto& [key, value] : change.puts) ops.push_back(store::Operation::put(key, value));
    auto result = co_await store_.txn(compares, ops);
    if (!result.succeeded) {
      util::log("controller {}: {} of {} raced with another change; planning again", id_,
                change.kind, change.database_id);
      co_return;
    }
    if (change.kind == "failover") {
      ++failovers_;
      failed_over_.insert(change.database_id);
      if (auto db = snapshot.databases.find(change.database_id); db != snapshot.databases.end())
        metrics::failover_committed(change.database_id, db->second.first.epoch, decided);
    }
    util::log("controller {}: {} {}: {}", id_, change.kind, change.database_id, change.detail);
    co_await state_.wait_revision(result.revision, 2s);
    co_await drop_unreferenced(change.drop_objects);
  }
}

asio::awaitable<bool> Controller::primary_really_lost(const Snapshot& snapshot,
                                                      const std::string& database_id) {
  const model::Allocation* primary = nullptr;
  for (auto& e : snapshot.allocations)
    if (e.allocation.database_id == database_id && e.allocation.role == model::Role::primary &&
        (!primary || e.allocation.epoch > primary->epoch))
      primary = &e.allocation;
  // A host whose lease is gone, or an instance that keeps crashing, is lost for sure.
  if (!primary || !snapshot.hosts.count(primary->host)) co_return true;
  auto status = snapshot.statuses.find(keys::instance_owner(database_id, primary->n));
  if (status != snapshot.statuses.end() && status->second.state == model::InstanceState::failed)
    co_return true;
  // Judged unreachable by probes: one last look before a promotion that, if the primary is
  // merely slow, would leave two primaries until its agent demotes it.
  auto* engine = engines::find_engine(primary->engine);
  if (!engine) co_return true;
  auto result =
      co_await engine->probe(executor_, primary->ip, primary->port, primary->password, 500ms);
  if (!result.healthy) co_return true;
  down_since_.erase(keys::instance_owner(database_id, primary->n));
  util::log("controller {}: primary of {} answers after all: no failover", id_, database_id);
  co_return false;
}

asio::awaitable<void> Controller::drop_unreferenced(std::vector<std::string> objects) {
  if (objects.empty() || !backups_) co_return;
  std::set<std::string> referenced;
  for (auto* kv : state_.under(keys::kBackups))
    referenced.insert(model::parse<model::Backup>(kv->value).sha256);
  for (auto& sha : objects)
    if (!referenced.count(sha)) co_await backups_->remove(sha);
}

asio::awaitable<void> Controller::probe_primaries() {
  asio::steady_timer timer(executor_);
  while (leading_ && !stopping_) {
    std::set<std::string> current;
    for (auto* kv : state_.under(keys::kAllocations)) {
      auto a = model::parse<model::Allocation>(kv->value);
      if (a.role != model::Role::primary || a.database_address.empty()) continue;  // no replicas
      std::string owner = keys::instance_owner(a.database_id, a.n);
      // Only a primary its agent last saw healthy can be lost to a cut; one that is starting
      // or crashing is its agent's business.
      auto* status = state_.find(keys::status(a.database_id, a.n));
      if (!status ||
          model::parse<model::InstanceStatus>(status->value).state != model::InstanceState::healthy)
        continue;
      current.insert(owner);
      if (probing_.insert(owner).second)
        asio::co_spawn(executor_, probe_one(owner, a.engine, a.ip, a.port, a.password),
                       asio::detached);
    }
    for (auto it = down_since_.begin(); it != down_since_.end();)
      it = current.count(it->first) ? std::next(it) : down_since_.erase(it);
    timer.expires_after(100ms);
    co_await timer.async_wait(asio::use_awaitable);
  }
  down_since_.clear();
}

asio::awaitable<void> Controller::probe_one(std::string owner, std::string engine_name,
                                            std::string ip, int port, std::string password) {
  auto started = std::chrono::steady_clock::now();
  bool healthy = false;
  if (auto* engine = engines::find_engine(engine_name)) {
    auto result = co_await engine->probe(executor_, ip, port, password, 300ms);
    healthy = result.healthy;
  }
  if (healthy) {
    down_since_.erase(owner);
  } else if (!down_since_.count(owner)) {
    down_since_[owner] = started;
    wake_.notify_all();
  }
  probing_.erase(owner);
}

asio::awaitable<void> Controller::resign() {
  stopping_ = true;
  leading_ = false;
  if (lease_) {
    try {
      co_await store_.lease_revoke(lease_);
    } catch (const std::exception&) {
    }
  }
}

}  // namespace berth::controller
