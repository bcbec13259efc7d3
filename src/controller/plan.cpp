#include "controller/plan.hpp"

#include <algorithm>

#include "netpool/netpool.hpp"

namespace berth::controller {

namespace keys = model::keys;

const AllocationEntry* choose_promotion(const Snapshot& snapshot,
                                        const std::vector<const AllocationEntry*>& replicas) {
  const AllocationEntry* best = nullptr;
  int64_t best_offset = -1;
  for (auto* e : replicas) {
    auto& a = e->allocation;
    if (!snapshot.hosts.count(a.host)) continue;
    auto it = snapshot.statuses.find(keys::instance_owner(a.database_id, a.n));
    if (it == snapshot.statuses.end() || it->second.state != model::InstanceState::healthy)
      continue;
    // Re-created on a fresh volume and not yet through its first sync, it holds nothing: its
    // promotion would give every replica an empty database to copy.
    if (!it->second.synced) continue;
    int64_t offset = it->second.offset;
    if (offset > best_offset || (offset == best_offset && a.n < best->allocation.n)) {
      best = e;
      best_offset = offset;
    }
  }
  return best;
}

namespace {

// Places instance a on a live host that holds no other instance of its database.
std::string place_elsewhere(std::map<std::string, scheduler::HostSnapshot>& hosts,
                            const model::Database& db,
                            const std::vector<const AllocationEntry*>& siblings,
                            const model::Allocation& a) {
  scheduler::PlacementRequest request{a.memory_mb, {}, db.constraints};
  for (auto* s : siblings) request.avoid_hosts.insert(s->allocation.host);
  std::vector<scheduler::HostSnapshot> candidates;
  for (auto& [name, h] : hosts) candidates.push_back(h);
  auto placed = scheduler::place(candidates, request);
  if (!placed.ok()) return {};
  hosts[placed.host].allocated_mb += a.memory_mb;
  hosts[placed.host].instances += 1;
  return placed.host;
}

// The leader cannot reach the primary and no healthy replica can either: its host is cut off
// or dead, whatever its lease says for the next second.
bool confirmed_unreachable(const Snapshot& snapshot, const AllocationEntry& primary,
                           const std::vector<const AllocationEntry*>& instances) {
  auto& p = primary.allocation;
  if (!snapshot.unreachable.count(keys::instance_owner(p.database_id, p.n))) return false;
  int witnesses = 0;
  for (auto* e : instances) {
    if (e == &primary) continue;
    auto it =
        snapshot.statuses.find(keys::instance_owner(e->allocation.database_id, e->allocation.n));
    if (it == snapshot.statuses.end() || it->second.state != model::InstanceState::healthy)
      continue;
    if (!it->second.primary_down) return false;
    ++witnesses;
  }
  return witnesses > 0;
}

// The agent says the instance keeps crashing where it is: it must move. Only the report of
// its current host counts: the old host's "failed" outlives a move until that agent removes
// it, and would otherwise move the instance on and on.
bool crash_looping(const Snapshot& snapshot, const model::Allocation& a) {
  auto it = snapshot.statuses.find(keys::instance_owner(a.database_id, a.n));
  return it != snapshot.statuses.end() && it->second.state == model::InstanceState::failed &&
         it->second.host == a.host;
}

// An instance re-created away from a host it may still run on (the host cut off, its agent
// dead, its dockerd about to restart it) takes a new address: two containers must never share
// one on the LAN. The old address stays taken, retired, until that host's agent finds no
// container of its own holding it. False when the pool has no address left.
bool readdress(const Snapshot& snapshot, std::set<std::string>& taken, const std::string& old_host,
               model::Allocation& moved, Writes& writes) {
  if (!snapshot.network) return false;
  auto ip = netpool::choose(*snapshot.network, taken);
  if (!ip) return false;
  taken.insert(*ip);
  auto owner = keys::instance_owner(moved.database_id, moved.n);
  auto old = snapshot.addresses.find(moved.ip);
  writes.expect_mod_revision[keys::address(moved.ip)] =
      old == snapshot.addresses.end() ? 0 : old->second.second;
  writes.puts[keys::address(moved.ip)] = keys::retired_address_owner(old_host, owner);
  writes.expect_mod_revision[keys::address(*ip)] = 0;
  writes.puts[keys::address(*ip)] = owner;
  moved.ip = *ip;
  return true;
}

bool replica_in_sync(const Snapshot& snapshot, const model::Allocation& a) {
  auto it = snapshot.statuses.find(keys::instance_owner(a.database_id, a.n));
  return snapshot.hosts.count(a.host) && it != snapshot.statuses.end() &&
         it->second.state == model::InstanceState::healthy && it->second.link_up;
}

}  // namespace

std::vector<Change> plan(const Snapshot& snapshot) {
  std::vector<Change> changes;
  auto hosts = snapshot.hosts;  // capacity is consumed as instances are placed
  std::set<std::string> taken;  // and addresses as instances take new ones
  for (auto& [ip, owner] : snapshot.addresses) taken.insert(ip);
  std::map<std::string, std::vector<const AllocationEntry*>> by_database;
  for (auto& e : snapshot.allocations) by_database[e.allocation.database_id].push_back(&e);

  for (auto& [id, entry] : snapshot.databases) {
    auto& [db, db_revision] = entry;
    if (!db.maintenance.empty()) continue;  // a restore restarts the primary on purpose
    auto& instances = by_database[id];
    const AllocationEntry* primary = model::primary_of(instances, &AllocationEntry::allocation);
    if (!primary) continue;
    auto alive = [&](const AllocationEntry* e) { return hosts.count(e->allocation.host) > 0; };

    auto owner = keys::instance_owner(primary->allocation.database_id, primary->allocation.n);
    bool left = snapshot.left.count(primary->allocation.host) > 0;
    bool answers = snapshot.answering.count(owner) > 0 && !left;
    // Its agent is gone (the lease ran out; it never said it left) and it answered a moment
    // ago: nothing has fenced it but the engine's own rule, which takes a few seconds once its
    // replicas stop acknowledging. Promoting sooner would leave two writable instances for
    // whoever still reaches the old one.
    bool host_gone = !alive(primary);
    bool may_still_write = host_gone && !left && snapshot.answered_lately.count(owner) > 0;
    bool lost = ((host_gone && !answers) || confirmed_unreachable(snapshot, *primary, instances)) &&
                !may_still_write;
    if (lost || crash_looping(snapshot, primary->allocation)) {
      // Failover: the primary's host is gone, or the primary keeps crashing there. Promote the best
      // live replica under a new epoch, in one transaction with everything else that changes with
      // it.
      std::vector<const AllocationEntry*> replicas;
      for (auto* e : instances)
        if (e != primary && e->allocation.role == model::Role::replica) replicas.push_back(e);
      auto* chosen = choose_promotion(snapshot, replicas);
      if (!chosen && replicas.empty() && !db.durable && !alive(primary)) {
        // A cache without replicas: its data went with its host. Start it afresh elsewhere,
        // at a new address, rather than wait for a host that may never return.
        auto moved = primary->allocation;
        std::string host = place_elsewhere(hosts, db, instances, moved);
        if (host.empty()) continue;
        moved.host = host;
        Replace c{id, moved.n, host, /*empty=*/true, {}};
        if (!readdress(snapshot, taken, primary->allocation.host, moved, c.writes)) continue;
        c.writes.expect_mod_revision[primary->key] = primary->mod_revision;
        c.writes.expect_mod_revision[keys::database(id)] = db_revision;
        c.writes.expect_mod_revision[keys::allocation(host, id, moved.n)] = 0;
        c.writes.deletes.push_back(primary->key);
        c.writes.puts[keys::allocation(host, id, moved.n)] = model::dump(moved);
        changes.push_back(std::move(c));
        continue;
      }
      if (!chosen) continue;  // nothing to promote yet: wait for a replica to report
      Failover f;
      f.database_id = id;
      auto& c = f.writes;
      int64_t epoch = db.epoch + 1;
      auto new_db = db;
      new_db.epoch = epoch;
      c.expect_mod_revision[keys::database(id)] = db_revision;
      c.puts[keys::database(id)] = model::dump(new_db);
      for (auto* e : instances) c.expect_mod_revision[e->key] = e->mod_revision;

      auto promoted = chosen->allocation;
      promoted.role = model::Role::primary;
      promoted.epoch = epoch;
      promoted.primary_ip.clear();
      promoted.database_address = db.address;
      int live_replicas = 0;
      for (auto* e : replicas)
        if (e != chosen && alive(e) && replica_in_sync(snapshot, e->allocation)) ++live_replicas;
      promoted.min_replicas_to_write = live_replicas > 0 ? 1 : 0;
      c.puts[chosen->key] = model::dump(promoted);

      for (auto* e : replicas) {
        if (e == chosen) continue;
        auto r = e->allocation;
        r.primary_ip = promoted.ip;
        r.epoch = epoch;
        c.puts[e->key] = model::dump(r);
      }
      // The lost primary comes back as a replica on another host, same number, new address.
      auto old = primary->allocation;
      old.role = model::Role::replica;
      old.epoch = epoch;
      old.primary_ip = promoted.ip;
      old.database_address.clear();
      old.min_replicas_to_write = 0;
      std::string host = place_elsewhere(hosts, db, instances, old);
      if (!host.empty() && !readdress(snapshot, taken, primary->allocation.host, old, c))
        host.clear();
      if (!host.empty()) {
        c.deletes.push_back(primary->key);
        old.host = host;
        c.puts[keys::allocation(host, id, old.n)] = model::dump(old);
        c.expect_mod_revision[keys::allocation(host, id, old.n)] = 0;
      } else {
        c.puts[primary->key] = model::dump(old);  // stays where it was, demoted
      }
      f.promoted = promoted.n;
      f.promoted_host = promoted.host;
      f.epoch = epoch;
      f.lost = old.n;
      f.lost_to = host;
      changes.push_back(std::move(f));
      continue;
    }

    // A primary on a draining host hands over first, by a switchover (no lost write).
    bool settled = std::all_of(instances.begin(), instances.end(), [&](auto* e) {
      auto it = snapshot.statuses.find(keys::instance_owner(id, e->allocation.n));
      return it != snapshot.statuses.end() && it->second.state == model::InstanceState::healthy;
    });
    // (A primary kept on a host whose agent died is on no live host.)
    bool primary_draining = alive(primary) && hosts.at(primary->allocation.host).draining;
    if (primary_draining && snapshot.switching.count(id))
      continue;  // under way: nothing else moves meanwhile
    if (primary_draining && settled) {
      bool has_target = false;
      for (auto* e : instances)
        if (e != primary && replica_in_sync(snapshot, e->allocation) &&
            !hosts.at(e->allocation.host).draining)
          has_target = true;
      if (has_target) {
        changes.push_back(Switchover{id, primary->allocation.host});
        continue;
      }
    }

    // Replicas on lost hosts are re-created elsewhere with their number and a new address; on
    // draining hosts (whose agents remove the old container first) with their address too,
    // one at a time, once everything else is healthy.
    for (auto* e : instances) {
      if (e == primary) continue;
      bool draining = alive(e) && hosts.at(e->allocation.host).draining;
      bool crashing = alive(e) && crash_looping(snapshot, e->allocation);
      if (alive(e) && !crashing && !(draining && settled)) continue;
      if (draining) settled = false;  // one move at a time
      auto moved = e->allocation;
      std::string host = place_elsewhere(hosts, db, instances, moved);
      if (host.empty()) continue;
      moved.host = host;
      moved.primary_ip = primary->allocation.ip;
      moved.epoch = db.epoch;
      Writes c;
      if (!alive(e) && !readdress(snapshot, taken, e->allocation.host, moved, c)) continue;
      c.expect_mod_revision[e->key] = e->mod_revision;
      c.expect_mod_revision[keys::database(id)] = db_revision;
      c.expect_mod_revision[keys::allocation(host, id, moved.n)] = 0;
      c.deletes.push_back(e->key);
      c.puts[keys::allocation(host, id, moved.n)] = model::dump(moved);
      if (draining || crashing)
        changes.push_back(Move{id, moved.n, host, std::move(c)});
      else
        changes.push_back(Replace{id, moved.n, host, /*empty=*/false, std::move(c)});
    }

    // Writes must reach a replica whenever one is in sync; with none, the primary must not
    // refuse every write.
    bool any_in_sync = false;
    for (auto* e : instances)
      if (e != primary && replica_in_sync(snapshot, e->allocation)) any_in_sync = true;
    int want = any_in_sync ? 1 : 0;
    if (primary->allocation.min_replicas_to_write != want) {
      auto p = primary->allocation;
      p.min_replicas_to_write = want;
      MinReplicas c{id, want, {}};
      c.writes.expect_mod_revision[primary->key] = primary->mod_revision;
      c.writes.puts[primary->key] = model::dump(p);
      changes.push_back(std::move(c));
    }
  }
  return changes;
}

namespace {
template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;
}  // namespace

std::string_view kind(const Change& change) {
  return std::visit(
      Overloaded{
          [](const Failover&) { return "failover"; }, [](const Replace&) { return "replace"; },
          [](const Move&) { return "move"; }, [](const MinReplicas&) { return "min-replicas"; },
          [](const Switchover&) { return "switchover"; },
          [](const Dispatch&) { return "dispatch"; }, [](const Requeue&) { return "requeue"; },
          [](const ScheduleFire&) { return "schedule"; },
          [](const Retention&) { return "retention"; },
          [](const RestoreEnd&) { return "restore-end"; }},
      change);
}

std::string detail(const Change& change) {
  auto n = [](int i) { return std::to_string(i); };
  return std::visit(
      Overloaded{[&](const Failover& c) {
                   return "instance " + n(c.promoted) + " on " + c.promoted_host +
                          " promoted (epoch " + std::to_string(c.epoch) + "), instance " +
                          n(c.lost) + " re-created on " +
                          (c.lost_to.empty() ? "(no host yet)" : c.lost_to);
                 },
                 [&](const Replace& c) {
                   return "instance " + n(c.n) + " re-created " + (c.empty ? "empty " : "") +
                          "on " + c.host;
                 },
                 [&](const Move& c) { return "instance " + n(c.n) + " re-created on " + c.host; },
                 [&](const MinReplicas& c) { return "min-replicas-to-write " + n(c.want); },
                 [&](const Switchover& c) { return "primary leaves draining host " + c.from_host; },
                 [&](const Dispatch& c) {
                   return "task " + c.task_id + " (" + c.task_kind + "): " + c.outcome;
                 },
                 [&](const Requeue& c) {
                   return "task " + c.task_id + " (" + c.task_kind + "): " + c.outcome;
                 },
                 [&](const ScheduleFire& c) { return c.detail; },
                 [&](const Retention& c) {
                   return std::to_string(c.backups.size()) + " scheduled backups beyond " +
                          n(c.keep) + " pruned";
                 },
                 [&](const RestoreEnd& c) { return "task " + c.task_id + ": " + c.outcome; }},
      change);
}

const std::string& database_of(const Change& change) {
  return std::visit([](auto& c) -> const std::string& { return c.database_id; }, change);
}

const Writes* writes_of(const Change& change) {
  return std::visit(Overloaded{[](const Switchover&) -> const Writes* { return nullptr; },
                               [](const auto& c) -> const Writes* { return &c.writes; }},
                    change);
}

}  // namespace berth::controller
