// DatabaseService::update: a plan (plan_update) made into one transaction guarded by the mod
// revisions it read, then a wait until the instances apply it.
#include "api/database_service.hpp"
#include "api/quota.hpp"
#include "api/update_plan.hpp"
#include "engines/engine.hpp"
#include "scheduler/snapshot.hpp"
#include "util/log.hpp"

namespace berth::api {

namespace asio = boost::asio;
namespace keys = model::keys;
using namespace std::chrono_literals;

asio::awaitable<DatabaseService::Updated> DatabaseService::update(const std::string& id,
                                                                  const std::string& ref,
                                                                  const UpdateRequest& request) {
  Updated out;
  auto refuse = [&](int status, std::string message) {
    out.problem = {status, std::move(message)};
    return out;
  };
  std::vector<int> added, kept;
  model::Database db;
  int64_t committed_revision = 0;
  for (int attempt = 0; attempt < 20 && committed_revision == 0; ++attempt) {
    auto* kv = c_.state.find(keys::database(id));
    if (!kv) co_return refuse(404, no_database(ref));
    UpdateSnapshot snapshot;
    snapshot.db = model::parse<model::Database>(kv->value);
    auto* engine = engines::find_engine(snapshot.db.engine);
    snapshot.engine = engine->name();
    snapshot.shrink_in_place = engine->capabilities().shrink_in_place;
    snapshot.persistent = engine->capabilities().persistent;
    snapshot.hosts = scheduler::live_hosts(c_.state);
    std::vector<const store::KeyValue*> records;  // of the instances, as read
    for (auto* akv : c_.state.grouped(keys::kAllocations, id)) {
      auto a = model::parse<model::Allocation>(akv->value);
      if (a.database_id != id) continue;
      if (auto* s = c_.state.find(keys::status(a.host, id, a.n)))
        snapshot.states[a.n] = model::parse<model::InstanceStatus>(s->value).state;
      records.push_back(akv);
      snapshot.instances.push_back(std::move(a));
    }
    auto plan = plan_update(snapshot, request);
    if (plan.problem) co_return refuse(plan.problem.status, plan.problem.message);
    auto& next = plan.db;
    auto& was = snapshot.db;
    int64_t more_mb = next.memory_mb * (next.replicas + 1) - was.memory_mb * (was.replicas + 1);
    if (auto quota = quota_refusal(c_.view, was.project, more_mb, 0)) co_return refuse(409, *quota);

    // Everything changes in one transaction guarded by the mod revisions it read: the
    // database, its instances' memory, new replicas with their addresses, removed replicas.
    std::vector<store::Compare> compares{
        store::Compare::mod_revision_is(keys::database(id), kv->mod_revision)};
    std::vector<store::Operation> ops;
    if (more_mb > 0) guard_project(c_.view, was.project, compares, ops);
    std::map<int, const store::KeyValue*> read;
    for (size_t i = 0; i < records.size(); ++i) {
      compares.push_back(
          store::Compare::mod_revision_is(records[i]->key, records[i]->mod_revision));
      read[snapshot.instances[i].n] = records[i];
    }
    for (auto& a : plan.removed) {
      ops.push_back(store::Operation::erase(read.at(a.n)->key));
      // Back to the pool once the replica's host has removed its container (it may be
      // cut off and still hold the address).
      ops.push_back(store::Operation::put(
          keys::address(a.ip),
          keys::retired_address_owner(a.host, keys::instance_owner(a.database_id, a.n))));
    }
    auto network = [&] {
      return model::parse<model::NetworkConfig>(c_.state.find(keys::kNetwork)->value);
    };
    std::vector<std::string> reserved;
    if (plan.needs_database_address) {
      // A first replica: the database gets the address that follows the primary.
      reserved = c_.reserve_addresses(network(), 1);
      if (reserved.empty()) co_return refuse(409, "network: the address pool is exhausted");
      next.address = reserved[0];
      compares.push_back(store::Compare::absent(keys::address(next.address)));
      ops.push_back(
          store::Operation::put(keys::address(next.address), keys::database_address_owner(id)));
    }
    kept.clear();
    for (auto& a : plan.kept) {
      kept.push_back(a.n);
      if (a.n == plan.primary_n && plan.needs_database_address) a.database_address = next.address;
      auto* record = read.at(a.n);
      if (model::dump(a) != record->value)
        ops.push_back(store::Operation::put(record->key, model::dump(a)));
    }
    added.clear();
    if (!plan.added.empty()) {
      auto ips = c_.reserve_addresses(network(), static_cast<int>(plan.added.size()));
      if (ips.empty()) {
        c_.release_addresses(reserved);
        co_return refuse(409, "network: the address pool is exhausted");
      }
      reserved.insert(reserved.end(), ips.begin(), ips.end());
      for (size_t i = 0; i < plan.added.size(); ++i) {
        int n = plan.added[i].n;
        auto a = new_allocation(next, n, plan.added[i].host, ips[i]);
        a.role = model::Role::replica;
        a.primary_ip = plan.primary_ip;
        compares.push_back(store::Compare::absent(keys::address(a.ip)));
        compares.push_back(store::Compare::present(keys::host(a.host)));
        ops.push_back(store::Operation::put(keys::address(a.ip), keys::instance_owner(id, n)));
        ops.push_back(store::Operation::put(keys::allocation(a.host, id, n), model::dump(a)));
        added.push_back(n);
      }
    }
    ops.push_back(store::Operation::put(keys::database(id), model::dump(next)));

    auto result = co_await c_.try_txn(compares, ops);
    c_.release_addresses(reserved);
    if (!result) co_return refuse(503, "etcd: the store does not answer; nothing was changed");
    if (result->succeeded) {
      committed_revision = result->revision;
      db = next;
      break;
    }
    // A failover, a move or a concurrent create changed what we read: look again.
    co_await c_.state.wait_revision(result->revision, 2s);
  }
  if (committed_revision == 0) co_return refuse(409, "database: changed meanwhile; try again");
  co_await c_.state.wait_revision(committed_revision, 5s);
  util::log("server: updated database {}: {} MiB, {} replicas", db.name, db.memory_mb, db.replicas);
  // Answer once every instance runs with the new limit, new replicas are in sync and the
  // database address is held.
  auto status = [&](int n) -> std::optional<model::InstanceStatus> {
    auto* s = c_.view.status(id, n);
    if (!s) return std::nullopt;
    return s->value;
  };
  out.applied = co_await c_.view.wait_for(
      [&] {
        for (int n : kept)
          if (auto s = status(n); !s || s->memory_limit_mb != db.memory_mb) return false;
        for (int n : added)
          if (auto s = status(n); !s || s->state != model::InstanceState::healthy || !s->link_up)
            return false;
        if (!db.address.empty()) {
          bool held = false;
          for (int n : kept)
            if (auto s = status(n)) held |= s->holds_address == db.address;
          if (!held) return false;
        }
        return true;
      },
      c_.options.create_wait);
  co_return out;
}

}  // namespace berth::api
