// The task dispatcher's decisions, without I/O.
#include "controller/tasks.hpp"

#include <gtest/gtest.h>

namespace berth::controller {
namespace {

namespace keys = model::keys;

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
    a.role = role;
    s.allocations.push_back({keys::allocation(host, "d", n), 20, a});
    model::InstanceStatus st;
    st.state = "healthy";
    st.offset = offset;
    st.link_up = role == "replica";
    s.statuses[keys::instance_owner("d", n)] = st;
  }
  model::Task& task(const std::string& kind, const std::string& state = "pending") {
    model::Task t;
    t.id = "t1";
    t.kind = kind;
    t.database_id = "d";
    t.state = state;
    s.tasks.push_back({30, t});
    return s.tasks.back().second;
  }
};

model::Task written(const Change& c) {
  return model::parse<model::Task>(c.puts.at(keys::task("t1")));
}

TEST(Tasks, ABackupGoesToTheMostCaughtUpReplica) {
  World w;
  w.task("backup");
  auto changes = plan_tasks(w.s);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(written(changes[0]).worker, "h3");
  EXPECT_EQ(written(changes[0]).instance, 2);
  EXPECT_EQ(changes[0].expect_mod_revision.at(keys::task("t1")), 30);
}

TEST(Tasks, ABackupFallsBackToThePrimaryAndARestoreAlwaysGoesThere) {
  World w;
  w.s.statuses["d/1"].state = "unhealthy";
  w.s.statuses["d/2"].link_up = false;
  w.task("backup");
  EXPECT_EQ(written(plan_tasks(w.s)[0]).worker, "h1");
  World r;
  r.task("restore");
  EXPECT_EQ(written(plan_tasks(r.s)[0]).worker, "h1");
}

TEST(Tasks, NothingHealthyLeavesItPending) {
  World w;
  for (auto& [k, st] : w.s.statuses) st.state = "starting";
  w.task("backup");
  EXPECT_TRUE(plan_tasks(w.s).empty());
}

TEST(Tasks, ARunningTaskWhoseClaimVanishedRunsAgainThenFails) {
  World w;
  auto& t = w.task("backup", "running");
  t.worker = "h3";
  t.attempts = 1;
  auto first = written(plan_tasks(w.s)[0]);
  EXPECT_EQ(first.state, "pending");
  EXPECT_EQ(first.worker, "");
  t.attempts = kTaskAttempts;
  auto last = written(plan_tasks(w.s)[0]);
  EXPECT_EQ(last.state, "failed");
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
  auto db = model::parse<model::Database>(changes[0].puts.at(keys::database("d")));
  EXPECT_EQ(db.maintenance, "");
}

TEST(Tasks, APendingTaskOnAHostThatWentAwayIsDispatchedAgain) {
  World w;
  auto& t = w.task("backup");
  t.worker = "h9";
  auto changes = plan_tasks(w.s);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(written(changes[0]).worker, "");
}

}  // namespace
}  // namespace berth::controller
