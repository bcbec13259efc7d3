#include "controller/tasks.hpp"

#include <algorithm>

#include "cron/cron.hpp"
#include "util/encoding.hpp"

namespace berth::controller {

namespace keys = model::keys;

namespace {

template <class C>
C task_change(int64_t revision, const model::Task& task, const std::string& outcome) {
  C c{task.database_id, task.id, model::to_string(task.kind), outcome, {}};
  c.writes.expect_mod_revision[keys::task(task.id)] = revision;
  c.writes.puts[keys::task(task.id)] = model::dump(task);
  return c;
}

// The instance to work on: for a backup, the in-sync replica with the highest offset, else the
// primary; for a restore, the primary. Healthy and on a live host either way.
const AllocationEntry* choose_instance(const Snapshot& snapshot, const model::Task& task) {
  const AllocationEntry* best = nullptr;
  int64_t best_offset = -1;
  const AllocationEntry* primary = nullptr;
  for (auto& e : snapshot.allocations) {
    auto& a = e.allocation;
    if (a.database_id != task.database_id || !snapshot.hosts.count(a.host)) continue;
    auto it = snapshot.statuses.find(keys::instance_owner(a.database_id, a.n));
    if (it == snapshot.statuses.end() || it->second.state != model::InstanceState::healthy)
      continue;
    if (a.role == model::Role::primary) primary = &e;
    if (task.kind == model::TaskKind::backup && a.role == model::Role::replica &&
        it->second.link_up && it->second.offset > best_offset) {
      best = &e;
      best_offset = it->second.offset;
    }
  }
  return best ? best : primary;
}

}  // namespace

std::vector<Change> plan_tasks(const Snapshot& snapshot) {
  std::vector<Change> changes;
  for (auto& [revision, task] : snapshot.tasks) {
    if (task.state == model::TaskState::pending && !task.worker.empty() &&
        !snapshot.hosts.count(task.worker)) {
      auto t = task;
      t.worker.clear();
      t.instance = -1;
      t.log.push_back(model::now_rfc3339() + " worker " + task.worker +
                      " is gone; dispatching again");
      changes.push_back(task_change<Dispatch>(revision, t, "worker gone"));
    } else if (task.state == model::TaskState::pending && task.worker.empty()) {
      if (!snapshot.databases.count(task.database_id)) {
        auto t = task;
        t.state = model::TaskState::failed;
        t.error = "database: it no longer exists";
        changes.push_back(task_change<Dispatch>(revision, t, t.error));
        continue;
      }
      auto* chosen = choose_instance(snapshot, task);
      if (!chosen) continue;  // nothing healthy to work on yet: stays pending
      auto t = task;
      t.worker = chosen->allocation.host;
      t.instance = chosen->allocation.n;
      t.log.push_back(model::now_rfc3339() + " dispatched to " + t.worker + ", instance " +
                      std::to_string(t.instance) + " (" +
                      model::to_string(chosen->allocation.role) + ")");
      changes.push_back(task_change<Dispatch>(revision, t, "to " + t.worker));
    } else if (task.state == model::TaskState::running && !snapshot.claimed.count(task.id)) {
      // Its worker died mid-way: the claim went with its lease. Nothing it did was recorded
      // (results are written in the same transaction that ends the task), so it runs again.
      auto t = task;
      t.worker.clear();
      t.instance = -1;
      t.progress = 0;
      if (t.attempts >= kTaskAttempts) {
        t.state = model::TaskState::failed;
        t.error = "worker: lost " + std::to_string(t.attempts) + " times";
        t.finished_at = model::now_rfc3339();
      } else {
        t.state = model::TaskState::pending;
      }
      t.log.push_back(model::now_rfc3339() + " worker " + task.worker + " lost; " +
                      (t.state == model::TaskState::failed ? "giving up" : "trying again"));
      auto c = task_change<Requeue>(revision, t, model::to_string(t.state));
      // A restore that will not run again ends its database's maintenance.
      auto db = snapshot.databases.find(task.database_id);
      if (t.state == model::TaskState::failed && db != snapshot.databases.end() &&
          db->second.first.maintenance == task.id) {
        auto d = db->second.first;
        d.maintenance.clear();
        c.writes.expect_mod_revision[keys::database(d.id)] = db->second.second;
        c.writes.puts[keys::database(d.id)] = model::dump(d);
      }
      changes.push_back(std::move(c));
    }
  }
  for (auto& [id, entry] : snapshot.databases) {
    auto& [db, db_revision] = entry;
    auto ended = snapshot.ended_restores.find(db.maintenance);
    if (db.maintenance.empty() || ended == snapshot.ended_restores.end()) continue;
    auto& task = ended->second.task;
    RestoreEnd c{id, db.maintenance, "ended " + model::to_string(task.state), {}};
    auto d = db;
    d.maintenance.clear();
    c.writes.expect_mod_revision[keys::database(id)] = db_revision;
    c.writes.puts[keys::database(id)] = model::dump(d);
    if (task.state == model::TaskState::done && ended->second.reseed_replicas) {
      int reseeded = 0;
      for (auto& e : snapshot.allocations) {
        auto replica = e.allocation;
        if (replica.database_id != id || replica.role != model::Role::replica ||
            replica.data_generation == task.id)
          continue;
        replica.data_generation = task.id;
        c.writes.expect_mod_revision[e.key] = e.mod_revision;
        c.writes.puts[e.key] = model::dump(replica);
        ++reseeded;
      }
      if (reseeded) c.outcome += "; " + std::to_string(reseeded) + " replicas re-seed";
    }
    changes.push_back(std::move(c));
  }
  return changes;
}

std::vector<Change> plan_schedules(const Snapshot& snapshot, std::time_t now) {
  std::vector<Change> changes;
  std::set<std::string> busy;
  for (auto& [rev, task] : snapshot.tasks)
    if (!model::task_finished(task.state)) busy.insert(task.database_id);
  for (auto& [id, entry] : snapshot.databases) {
    auto& [db, db_revision] = entry;
    std::string error;
    auto cron =
        db.backup_schedule.empty() ? std::nullopt : cron::parse_cron(db.backup_schedule, &error);
    if (cron) {
      std::time_t next = parse_time(db.backup_next);
      if (next == 0 || now >= next) {
        auto d = db;
        d.backup_next = format_time(cron::next_fire(*cron, now));
        ScheduleFire c;
        c.database_id = id;
        c.writes.expect_mod_revision[keys::database(id)] = db_revision;
        c.writes.puts[keys::database(id)] = model::dump(d);
        if (next != 0 && !busy.count(id)) {
          model::Task t;
          // The id derives from the occurrence: two leaders cannot fire it twice.
          t.id = "t-" + util::sha256_hex(id + "@" + db.backup_next).substr(0, 12);
          t.kind = model::TaskKind::backup;
          t.database_id = id;
          t.database_name = db.name;
          t.project = db.project;
          t.scheduled = true;
          t.verify = db.backup_verify;
          t.created_at = model::now_rfc3339();
          t.log.push_back(t.created_at + " fired by schedule '" + db.backup_schedule + "'");
          c.task_id = t.id;
          c.writes.expect_mod_revision[keys::task(t.id)] = 0;
          c.writes.puts[keys::task(t.id)] = model::dump(t);
          c.detail = "backup due at " + db.backup_next + " fired; next at " + d.backup_next;
        } else {
          c.detail = next == 0 ? "first backup at " + d.backup_next
                               : "backup due at " + db.backup_next + " skipped: a task is running";
        }
        changes.push_back(std::move(c));
      }
    }
    // Retention: the newest backup_keep scheduled backups stay.
    std::vector<const model::Backup*> scheduled;
    for (auto& [rev, b] : snapshot.backups)
      if (b.database_id == id && b.scheduled) scheduled.push_back(&b);
    std::sort(scheduled.begin(), scheduled.end(),
              [](auto* a, auto* b) { return a->created_at > b->created_at; });
    int keep = std::max(1, db.backup_keep);
    if (static_cast<int>(scheduled.size()) > keep) {
      Retention c;
      c.database_id = id;
      c.keep = keep;
      for (size_t i = keep; i < scheduled.size(); ++i) {
        c.backups.push_back(scheduled[i]->id);
        c.writes.deletes.push_back(keys::backup(scheduled[i]->id));
        c.drop_objects.push_back(scheduled[i]->sha256);
      }
      changes.push_back(std::move(c));
    }
  }
  return changes;
}

}  // namespace berth::controller
