#include "controller/reconciler.hpp"

#include <ctime>

#include "backup/object_store.hpp"
#include "controller/events.hpp"
#include "controller/prober.hpp"
#include "controller/scope.hpp"
#include "controller/switchover_request.hpp"
#include "controller/tasks.hpp"
#include "engines/engine.hpp"
#include "metrics/berth.hpp"
#include "model/model.hpp"
#include "scheduler/snapshot.hpp"
#include "util/encoding.hpp"
#include "util/log.hpp"

namespace berth::controller {

namespace asio = boost::asio;
namespace keys = model::keys;
using namespace std::chrono_literals;

asio::awaitable<void> Reconciler::run() {
  auto stop = co_await asio::this_coro::cancellation_state;
  for (;;) {
    try {
      co_await reconcile_once();
    } catch (const std::exception& e) {
      if (stopped(stop)) co_return;
      util::log("controller {}: reconcile: {}", term_.leader_id, e.what());
    }
    // React to every change of state at once; look again every 250 ms regardless.
    co_await term_.state.wait_change(250ms);
  }
}

Snapshot Reconciler::snapshot() const {
  auto& view = term_.view;
  Snapshot snapshot;
  for (auto& [id, r] : view.databases()) snapshot.databases[id] = {r.value, r.mod_revision};
  snapshot.hosts = scheduler::live_hosts(term_.state);
  for (auto& [key, r] : view.allocations())
    snapshot.allocations.push_back({key, r.mod_revision, r.value});
  for (auto& [key, r] : view.statuses()) {
    std::string host, id;
    int n = 0;
    // One status an instance: its host's (view.status), not a host's it has left.
    if (keys::parse_status_key(key, &host, &id, &n) && view.status(id, n) == &r)
      snapshot.statuses[keys::instance_owner(id, n)] = r.value;
  }
  for (auto& [id, r] : view.tasks()) {
    if (model::task_finished(r.value.state)) continue;
    snapshot.tasks.push_back({r.mod_revision, r.value});
    if (view.claimed(id)) snapshot.claimed.insert(id);
  }
  for (auto& [id, r] : view.backups()) snapshot.backups.push_back({r.mod_revision, r.value});
  for (auto& [id, r] : view.databases()) {
    const std::string& restore = r.value.maintenance;
    if (restore.empty()) continue;
    auto* task = view.task(restore);
    if (task && !model::task_finished(task->value.state)) continue;
    Snapshot::EndedRestore ended;
    if (task) {
      ended.task = task->value;
    } else {
      ended.task.id = restore;
      ended.task.state = model::TaskState::failed;
    }
    auto* engine = engines::find_engine(r.value.engine);
    ended.reseed_replicas = engine && engine->capabilities().restore_reseeds_replicas;
    snapshot.ended_restores[restore] = std::move(ended);
  }
  for (auto* kv : term_.state.under(kSwitchovers))
    if (!finished(nlohmann::json::parse(kv->value).get<SwitchoverRequest>()))
      snapshot.switching.insert(kv->key.substr(kSwitchovers.size()));
  // A primary counts as unreachable after 600 ms without an answer to the leader's probes.
  snapshot.unreachable = prober_.unreachable(600ms);
  snapshot.answering = prober_.answering(1s);
  snapshot.answered_lately = prober_.answering(kEngineSelfFence);
  for (auto* kv : term_.state.under(keys::kHostsLeft))
    snapshot.left.insert(kv->key.substr(keys::kHostsLeft.size()));
  if (auto* kv = term_.state.find(keys::kNetwork))
    snapshot.network = model::parse<model::NetworkConfig>(kv->value);
  for (auto* kv : term_.state.under(keys::kAddresses))
    snapshot.addresses[kv->key.substr(keys::kAddresses.size())] = {kv->value, kv->mod_revision};
  return snapshot;
}

asio::awaitable<void> Reconciler::reconcile_once() {
  auto snapshot = this->snapshot();
  metrics::failovers_progress(snapshot.statuses);  // ends the clocks of failovers now served

  auto changes = plan(snapshot);
  for (auto& c : plan_tasks(snapshot)) changes.push_back(std::move(c));
  for (auto& c : plan_schedules(snapshot, std::time(nullptr))) changes.push_back(std::move(c));
  for (auto& change : changes) {
    auto& id = database_of(change);
    if (std::holds_alternative<Switchover>(change)) {
      // Run by the switchover runner, like any other request, one at a time per database.
      co_await request_switchover(id, detail(change));
      continue;
    }
    auto* failover = std::get_if<Failover>(&change);
    if (failover && !co_await primary_really_lost(snapshot, id)) continue;
    auto decided = std::chrono::steady_clock::now();  // for berth_failover_duration_seconds
    if (failover) events_.failover_writing(id);
    int64_t revision = 0;
    try {
      revision = co_await write(*writes_of(change));
    } catch (const std::exception&) {
      if (failover) events_.failover_written(id, 0);
      throw;
    }
    if (failover) events_.failover_written(id, revision);
    if (!revision) {
      util::log("controller {}: {} of {} raced with another change; planning again",
                term_.leader_id, kind(change), id);
      co_return;
    }
    if (failover) {
      ++failovers_;
      if (auto db = snapshot.databases.find(id); db != snapshot.databases.end())
        metrics::failover_committed(id, db->second.first.epoch, decided);
    }
    util::log("controller {}: {} {}: {}", term_.leader_id, kind(change), id, detail(change));
    co_await term_.state.wait_revision(revision, 2s);
    if (auto* retention = std::get_if<Retention>(&change))
      co_await drop_unreferenced(retention->drop_objects);
  }
}

asio::awaitable<void> Reconciler::request_switchover(const std::string& id,
                                                     const std::string& why) {
  std::string key = switchover_key(id);
  std::vector<store::Compare> compares{store::Compare::value_is(keys::kLeader, term_.leader_id)};
  auto* kv = term_.state.find(key);
  compares.push_back(kv ? store::Compare::mod_revision_is(key, kv->mod_revision)
                        : store::Compare::absent(key));
  SwitchoverRequest request;
  request.id = util::random_hex(8);
  request.origin = "drain";
  request.requested_at = format_time(std::time(nullptr));
  std::vector<store::Operation> put{store::Operation::put(key, nlohmann::json(request).dump())};
  if ((co_await term_.store.txn(compares, put)).succeeded)
    util::log("controller {}: switchover {} requested: {}", term_.leader_id, id, why);
}

asio::awaitable<int64_t> Reconciler::write(const Writes& writes) {
  // Every change also checks that we still lead: a deposed leader writes nothing.
  std::vector<store::Compare> compares{store::Compare::value_is(keys::kLeader, term_.leader_id)};
  for (auto& [key, rev] : writes.expect_mod_revision)
    compares.push_back(rev == 0 ? store::Compare::absent(key)
                                : store::Compare::mod_revision_is(key, rev));
  std::vector<store::Operation> ops;
  for (auto& key : writes.deletes) ops.push_back(store::Operation::erase(key));
  for (auto& [key, value] : writes.puts) ops.push_back(store::Operation::put(key, value));
  auto result = co_await term_.store.txn(compares, ops);
  co_return result.succeeded ? result.revision : 0;
}

asio::awaitable<bool> Reconciler::primary_really_lost(const Snapshot& snapshot,
                                                      const std::string& database_id) {
  const model::Allocation* primary = nullptr;
  std::vector<const AllocationEntry*> instances;
  for (auto& e : snapshot.allocations)
    if (e.allocation.database_id == database_id) instances.push_back(&e);
  if (auto* e = model::primary_of(instances, &AllocationEntry::allocation))
    primary = &e->allocation;
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
      co_await engine->probe(term_.executor, primary->ip, primary->port, primary->password, 500ms);
  if (!result.healthy) co_return true;
  prober_.reached(keys::instance_owner(database_id, primary->n));
  util::log("controller {}: primary of {} answers after all: no failover", term_.leader_id,
            database_id);
  co_return false;
}

asio::awaitable<void> Reconciler::drop_unreferenced(std::vector<std::string> objects) {
  if (objects.empty() || !settings_.backups) co_return;
  std::set<std::string> referenced;
  for (auto& [id, r] : term_.view.backups()) referenced.insert(r.value.sha256);
  for (auto& sha : objects)
    if (!referenced.count(sha)) co_await settings_.backups->remove(sha);
}

}  // namespace berth::controller
