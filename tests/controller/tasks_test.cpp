// The task dispatcher's decisions, without I/O.
#include "controller/tasks.hpp"

#include <gtest/gtest.h>

namespace berth::controller {
namespace {

namespace keys = model::keys;

const Writes& writes(const Change& c) {
  return *writes_of(c);
}

struct World {
  Snapshot s;
  World() {
    for (auto* h : {"h1", "h2", "h3"}) s.hosts[h] = {h, 4096, 0, 0, false, {}};
    model::Database db;
    db.id = "d";
    db.name = "orders";
    s.databases["d"] = {db, 10};
    add("h1", 0, "primary", 100);
    add("h2", 1, "replica", 90);
    add("h3", 2, "replica", 95);
  }
  void add(const std::string& host, int n, const std::string& role, int64_t offset) {
    model::Allocation a;
    a.database_id = "d";
    a.n = n;
    a.host = host;
    a.role = model::from_name<model::Role>(role);
    s.allocations.push_back({keys::allocation(host, "d", n), 20, a});
    model::InstanceStatus st;
    st.state = model::InstanceState::healthy;
    st.offset = offset;
    st.link_up = role == "replica";
    s.statuses[keys::instance_owner("d", n)] = st;
  }
  model::Task& task(const std::string& kind, const std::string& state = "pending") {
    model::Task t;
    t.id = "t1";
    t.kind = model::from_name<model::TaskKind>(kind);
    t.database_id = "d";
    t.state = model::from_name<model::TaskState>(state);
    s.tasks.push_back({30, t});
    return s.tasks.back().second;
  }
};

model::Task written(const Change& c) {
  return model::parse<model::Task>(writes(c).puts.at(keys::task("t1")));
}

TEST(Tasks, ABackupGoesToTheMostCaughtUpReplica) {
  World w;
  w.task("backup");
  auto changes = plan_tasks(w.s);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(written(changes[0]).worker, "h3");
  EXPECT_EQ(written(changes[0]).instance, 2);
  EXPECT_EQ(writes(changes[0]).expect_mod_revision.at(keys::task("t1")), 30);
}

TEST(Tasks, ABackupFallsBackToThePrimaryAndARestoreAlwaysGoesThere) {
  World w;
  w.s.statuses["d/1"].state = model::InstanceState::unhealthy;
  w.s.statuses["d/2"].link_up = false;
  w.task("backup");
  EXPECT_EQ(written(plan_tasks(w.s)[0]).worker, "h1");
  World r;
  r.task("restore");
  EXPECT_EQ(written(plan_tasks(r.s)[0]).worker, "h1");
}

TEST(Tasks, NothingHealthyLeavesItPending) {
  World w;
  for (auto& [k, st] : w.s.statuses) st.state = model::InstanceState::starting;
  w.task("backup");
  EXPECT_TRUE(plan_tasks(w.s).empty());
}

TEST(Tasks, ARunningTaskWhoseClaimVanishedRunsAgainThenFails) {
  World w;
  auto& t = w.task("backup", "running");
  t.worker = "h3";
  t.attempts = 1;
  auto first = written(plan_tasks(w.s)[0]);
  EXPECT_EQ(first.state, model::TaskState::pending);
  EXPECT_EQ(first.worker, "");
  t.attempts = kTaskAttempts;
  auto last = written(plan_tasks(w.s)[0]);
  EXPECT_EQ(last.state, model::TaskState::failed);
  EXPECT_NE(last.error.find("lost"), std::string::npos);
  // With its claim alive it is left alone.
  w.s.claimed.insert("t1");
  EXPECT_TRUE(plan_tasks(w.s).empty());
}

TEST(Tasks, AFailedRestoreEndsTheMaintenanceOfItsDatabase) {
  World w;
  w.s.databases["d"].first.maintenance = "t1";
  auto& t = w.task("restore", "running");
  t.attempts = kTaskAttempts;
  auto changes = plan_tasks(w.s);
  ASSERT_EQ(changes.size(), 1u);
  auto db = model::parse<model::Database>(writes(changes[0]).puts.at(keys::database("d")));
  EXPECT_EQ(db.maintenance, "");
}

// A restore its worker recorded as ended: the leader takes the database out of maintenance and,
// when it worked and the engine asks for it, gives every replica the new data generation.
TEST(Tasks, TheLeaderEndsARestoreItsWorkerRecorded) {
  World w;
  w.s.databases["d"].first.maintenance = "t1";
  auto& t = w.task("restore", "done");
  w.s.ended_restores["t1"] = {t, true};
  auto changes = plan_tasks(w.s);
  ASSERT_EQ(changes.size(), 1u);
  ASSERT_TRUE(std::holds_alternative<RestoreEnd>(changes[0]));
  auto& c = writes(changes[0]);
  EXPECT_EQ(model::parse<model::Database>(c.puts.at(keys::database("d"))).maintenance, "");
  EXPECT_EQ(c.expect_mod_revision.at(keys::database("d")), 10);
  for (int n : {1, 2}) {
    auto key = keys::allocation(n == 1 ? "h2" : "h3", "d", n);
    EXPECT_EQ(model::parse<model::Allocation>(c.puts.at(key)).data_generation, "t1");
    EXPECT_EQ(c.expect_mod_revision.at(key), 20);
  }
  EXPECT_FALSE(c.puts.count(keys::allocation("h1", "d", 0)));  // the primary holds the data

  // Failed, or an engine whose replicas follow by themselves: maintenance ends, no re-seed.
  w.s.ended_restores["t1"] = {t, false};
  EXPECT_EQ(writes(plan_tasks(w.s)[0]).puts.size(), 1u);
  t.state = model::TaskState::failed;
  w.s.ended_restores["t1"] = {t, true};
  EXPECT_EQ(writes(plan_tasks(w.s)[0]).puts.size(), 1u);
  // Still running, or the database out of maintenance already: nothing.
  w.s.ended_restores.clear();
  EXPECT_TRUE(plan_tasks(w.s).empty());
  w.s.ended_restores["t1"] = {t, true};
  w.s.databases["d"].first.maintenance.clear();
  EXPECT_TRUE(plan_tasks(w.s).empty());
}

TEST(Tasks, APendingTaskOnAHostThatWentAwayIsDispatchedAgain) {
  World w;
  auto& t = w.task("backup");
  t.worker = "h9";
  auto changes = plan_tasks(w.s);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(written(changes[0]).worker, "");
}

TEST(Schedules, TheFirstLookOnlySetsTheNextTime) {
  World w;
  w.s.databases["d"].first.backup_schedule = "0 3 * * *";
  auto now = parse_time("2026-11-25T14:00:00Z");
  auto changes = plan_schedules(w.s, now);
  ASSERT_EQ(changes.size(), 1u);
  auto db = model::parse<model::Database>(writes(changes[0]).puts.at(keys::database("d")));
  EXPECT_EQ(db.backup_next, "2026-11-26T03:00:00Z");
  EXPECT_EQ(writes(changes[0]).puts.size(), 1u);  // no task yet
}

TEST(Schedules, ADueScheduleFiresOnceAndMovesOn) {
  World w;
  auto& db = w.s.databases["d"].first;
  db.backup_schedule = "0 3 * * *";
  db.backup_next = "2026-11-26T03:00:00Z";
  EXPECT_TRUE(plan_schedules(w.s, parse_time("2026-11-26T02:59:59Z")).empty());
  auto changes = plan_schedules(w.s, parse_time("2026-11-26T03:00:00Z"));
  ASSERT_EQ(changes.size(), 1u);
  auto& c = changes[0];
  auto next = model::parse<model::Database>(writes(c).puts.at(keys::database("d"))).backup_next;
  EXPECT_EQ(next, "2026-11-27T03:00:00Z");
  model::Task task;
  for (auto& [key, value] : writes(c).puts)
    if (key.starts_with(keys::kTasks)) task = model::parse<model::Task>(value);
  EXPECT_EQ(task.kind, model::TaskKind::backup);
  EXPECT_TRUE(task.scheduled);
  EXPECT_EQ(writes(c).expect_mod_revision.at(keys::task(task.id)), 0);  // never fired twice
  // The same occurrence seen by another leader makes the same task id.
  auto again = plan_schedules(w.s, parse_time("2026-11-26T03:00:30Z"));
  EXPECT_EQ(writes(again[0]).puts.count(keys::task(task.id)), 1u);
}

TEST(Schedules, AnOccurrenceIsSkippedWhileAnotherTaskRuns) {
  World w;
  auto& db = w.s.databases["d"].first;
  db.backup_schedule = "* * * * *";
  db.backup_next = "2026-11-26T03:00:00Z";
  w.task("restore", "running");
  auto changes = plan_schedules(w.s, parse_time("2026-11-26T03:00:10Z"));
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(writes(changes[0]).puts.size(), 1u);  // only the next time
  EXPECT_NE(detail(changes[0]).find("skipped"), std::string::npos);
}

TEST(Schedules, RetentionPrunesTheOldestScheduledBackups) {
  World w;
  w.s.databases["d"].first.backup_keep = 2;
  for (int i = 0; i < 4; ++i) {
    model::Backup b;
    b.id = "b" + std::to_string(i);
    b.database_id = "d";
    b.created_at = "2026-11-2" + std::to_string(i) + "T00:00:00Z";
    b.sha256 = "s" + std::to_string(i);
    b.scheduled = i != 0;  // b0 was made by hand: never pruned
    w.s.backups.push_back({40, b});
  }
  auto changes = plan_schedules(w.s, parse_time("2026-11-26T00:00:00Z"));
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(writes(changes[0]).deletes, std::vector<std::string>{keys::backup("b1")});
  EXPECT_EQ(std::get<Retention>(changes[0]).drop_objects, std::vector<std::string>{"s1"});
}

}  // namespace
}  // namespace berth::controller
