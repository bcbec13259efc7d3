// The agent's plan: desired allocations and observed containers in, steps out. Table tests.
#include "agent/plan.hpp"

#include <gtest/gtest.h>

namespace berth::agent {
namespace {

using Kind = Action::Kind;

model::Allocation allocation(const std::string& db, int n, model::Role role = model::Role::primary,
                             int64_t epoch = 1) {
  model::Allocation a;
  a.database_id = db;
  a.n = n;
  a.host = "h1";
  a.ip = "10.0.0." + std::to_string(n + 10);
  a.port = 6379;
  a.engine = "redis";
  a.role = role;
  a.epoch = epoch;
  return a;
}

std::string key(const model::Allocation& a) {
  return model::keys::instance_owner(a.database_id, a.n);
}

docker::ContainerInfo container(const model::Allocation& a, const std::string& hash,
                                bool running = true, const std::string& id = "") {
  docker::ContainerInfo c;
  c.id = id.empty() ? "c-" + key(a) : id;
  c.name = "berth-" + a.database_id + "-" + std::to_string(a.n);
  c.running = running;
  c.state = running ? "running" : "exited";
  c.labels[engines::labels::kInstance] = key(a);
  c.labels[engines::labels::kHost] = "h1";
  c.labels[engines::labels::kSpec] = hash;
  c.labels[engines::labels::kData] = a.data_generation;
  return c;
}

std::map<std::string, Desired> want(std::vector<model::Allocation> list) {
  std::map<std::string, Desired> out;
  for (auto& a : list) out[key(a)] = {a, "hash-" + a.database_id};
  return out;
}

// What an agent of cluster c1 knows when all is well.
Knowledge ours() {
  return {.cluster_id = "c1"};
}

// The kinds the plan lists for one instance, in order.
std::vector<Kind> kinds_of(const std::vector<Action>& actions, const std::string& instance) {
  std::vector<Kind> out;
  for (auto& a : actions)
    if (a.instance == instance) out.push_back(a.kind);
  return out;
}

TEST(AgentPlan, MissingInstanceIsCreated) {
  auto a = allocation("db1", 0);
  auto actions = plan(want({a}), std::vector<docker::ContainerInfo>{}, {}, ours());
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].kind, Kind::Create);
  EXPECT_EQ(actions[0].allocation.ip, a.ip);
  EXPECT_EQ(actions[0].spec_hash, "hash-db1");
}

TEST(AgentPlan, StoppedContainerIsStarted) {
  auto a = allocation("db1", 0);
  auto c = container(a, "hash-db1", /*running=*/false);
  auto actions = plan(want({a}), std::vector{c}, {{key(a), 1}}, ours());
  EXPECT_EQ(kinds_of(actions, key(a)), (std::vector{Kind::Start, Kind::Update}));
  EXPECT_EQ(actions[0].container.id, c.id);
}

TEST(AgentPlan, RunningContainerAfterAgentRestartIsAdoptedNotRemovedNorRecreated) {
  // A new agent knows nothing (no supervisors); Docker still runs the database.
  auto a = allocation("db1", 0);
  auto c = container(a, "hash-db1");
  auto actions = plan(want({a}), std::vector{c}, {}, ours());
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].kind, Kind::Adopt);
  EXPECT_EQ(actions[0].container.id, c.id);
  EXPECT_FALSE(actions[0].drop_volume);
}

TEST(AgentPlan, SupervisedRunningInstanceOnlyGetsItsAllocation) {
  auto a = allocation("db1", 0);
  auto actions = plan(want({a}), std::vector{container(a, "hash-db1")}, {{key(a), 1}}, ours());
  EXPECT_EQ(kinds_of(actions, key(a)), std::vector{Kind::Update});
}

TEST(AgentPlan, ContainerNoLongerWantedLeavesItsDataAsAnOrphan) {
  auto gone = allocation("db2", 1);
  auto actions = plan({}, std::vector{container(gone, "hash-db2")}, {}, ours());
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].kind, Kind::Remove);
  EXPECT_FALSE(actions[0].drop_volume);
  EXPECT_TRUE(actions[0].orphan_volume);
}

TEST(AgentPlan, ContainerOfADeletedDatabaseIsRemovedWithItsData) {
  auto gone = allocation("db2", 1);
  auto c = container(gone, "hash-db2");
  c.labels[engines::labels::kDatabase] = "db2";
  auto knowledge = ours();
  knowledge.deleted = {"db2"};
  auto actions = plan({}, std::vector{c}, {}, knowledge);
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].kind, Kind::Remove);
  EXPECT_TRUE(actions[0].drop_volume);
  EXPECT_FALSE(actions[0].orphan_volume);
}

TEST(AgentPlan, DuplicateIsRemovedAndKeepsTheSharedVolume) {
  auto a = allocation("db1", 0);
  auto first = container(a, "hash-db1", true, "c1");
  auto second = container(a, "hash-db1", true, "c2");
  auto actions = plan(want({a}), std::vector{first, second}, {{key(a), 1}}, ours());
  ASSERT_EQ(kinds_of(actions, key(a)), (std::vector{Kind::Remove, Kind::Update}));
  EXPECT_EQ(actions[0].container.id, "c2");
  EXPECT_FALSE(actions[0].drop_volume);
}

TEST(AgentPlan, SpecChangeRecreatesKeepingTheVolume) {
  auto a = allocation("db1", 0);
  auto actions = plan(want({a}), std::vector{container(a, "old-hash")}, {{key(a), 1}}, ours());
  ASSERT_EQ(kinds_of(actions, key(a)), (std::vector{Kind::Recreate, Kind::Update}));
  EXPECT_FALSE(actions[0].drop_volume);
  EXPECT_EQ(actions[0].spec_hash, "hash-db1");
}

TEST(AgentPlan, AContainerMadeBeforeLiveRotationIsCurrentAndNotMadeAgain) {
  // Its label is the hash with the password in it (or the password before a rotation).
  auto a = allocation("db1", 0);
  auto desired = want({a});
  desired[key(a)].legacy_spec_hashes = {"hash-with-password", "hash-with-previous-password"};
  for (const char* label : {"hash-with-password", "hash-with-previous-password"}) {
    auto actions = plan(desired, std::vector{container(a, label)}, {{key(a), 1}}, ours());
    EXPECT_EQ(kinds_of(actions, key(a)), (std::vector{Kind::Update})) << label;
  }
  auto actions = plan(desired, std::vector{container(a, "another")}, {{key(a), 1}}, ours());
  EXPECT_EQ(kinds_of(actions, key(a)), (std::vector{Kind::Recreate, Kind::Update}));
}

TEST(AgentPlan, NewDataGenerationRecreatesFromAnEmptyVolume) {
  auto a = allocation("db1", 1, model::Role::replica);
  auto c = container(a, "old-hash");
  a.data_generation = "t-restore";
  auto actions = plan(want({a}), std::vector{c}, {{key(a), 1}}, ours());
  ASSERT_EQ(actions[0].kind, Kind::Recreate);
  EXPECT_TRUE(actions[0].orphan_volume);  // a fresh volume; the old data kept aside
  EXPECT_FALSE(actions[0].drop_volume);
}

model::Orphan orphan(const std::string& id, const std::string& db, const std::string& since) {
  model::Orphan o;
  o.id = id;
  o.database_id = db;
  o.since = since;
  return o;
}

std::vector<std::string> ids(const std::vector<model::Orphan>& orphans) {
  std::vector<std::string> out;
  for (auto& o : orphans) out.push_back(o.id);
  return out;
}

TEST(AgentPlan, OrphansGoWhenAskedWhenTheirDatabaseIsDeletedOrPastRetentionAFewAPass) {
  std::time_t now = model::parse_time("2026-11-27T12:00:00Z");
  auto asked = orphan("o-asked", "db1", "2026-11-27T11:59:00Z");
  asked.remove_requested = true;
  std::vector<model::Orphan> all{
      asked,
      orphan("o-deleted", "db2", "2026-11-27T11:59:00Z"),
      orphan("o-fresh", "db1", "2026-11-27T00:00:00Z"),
      orphan("o-old3", "db1", "2026-11-20T00:00:03Z"),
      orphan("o-old1", "db1", "2026-11-20T00:00:01Z"),
      orphan("o-old2", "db1", "2026-11-20T00:00:02Z"),
      orphan("o-notime", "db1", ""),
  };
  auto due = orphans_to_remove(all, {"db2"}, now, std::chrono::hours(24), 2);
  EXPECT_EQ(ids(due), (std::vector<std::string>{"o-asked", "o-deleted", "o-old1", "o-old2"}));
  // A day's retention: nothing of today's goes on its own.
  EXPECT_TRUE(orphans_to_remove({orphan("o", "db1", "2026-11-27T00:00:00Z")}, {}, now,
                                std::chrono::hours(24), 3)
                  .empty());
}

TEST(AgentPlan, InstanceThatLeftIsReleasedFirst) {
  auto stays = allocation("db1", 0), left = allocation("db2", 0);
  auto actions = plan(want({stays}), std::vector{container(stays, "hash-db1")},
                      {{key(stays), 1}, {key(left), 1}}, ours());
  ASSERT_GE(actions.size(), 1u);
  EXPECT_EQ(actions[0].kind, Kind::Release);
  EXPECT_EQ(actions[0].instance, key(left));
}

TEST(AgentPlan, DockerDownOnlyChangesSupervision) {
  auto stays = allocation("db1", 0), left = allocation("db2", 0), added = allocation("db3", 0);
  auto actions = plan(want({stays, added}), std::nullopt, {{key(stays), 1}, {key(left), 1}},
                      {.fenced = true, .docker_up = false, .cluster_id = "c1"});
  EXPECT_EQ(kinds_of(actions, key(left)), std::vector{Kind::Release});
  EXPECT_EQ(kinds_of(actions, key(stays)), std::vector{Kind::Update});
  EXPECT_TRUE(kinds_of(actions, key(added)).empty());  // created once dockerd is back
}

TEST(AgentPlan, OlderEpochIsIgnored) {
  auto a = allocation("db1", 0, model::Role::primary, /*epoch=*/3);
  auto actions = plan(want({a}), std::vector{container(a, "hash-db1")}, {{key(a), 4}}, ours());
  EXPECT_EQ(kinds_of(actions, key(a)), std::vector{Kind::Ignore});
  auto newer = plan(want({a}), std::vector{container(a, "hash-db1")}, {{key(a), 2}}, ours());
  EXPECT_EQ(kinds_of(newer, key(a)), std::vector{Kind::Update});
}

struct RoleCase {
  const char* name;
  model::Role role;  // the allocation's
  std::string database_address;
  bool fenced;
  std::string engine_role;  // what the probe saw
  bool holding_lost_writes;
  RoleStep::Kind kind;
  bool config_fenced;
  bool hold_address;
};

TEST(AgentPlan, AnEtcdWithoutAClusterIdChangesNothing) {
  // An emptied etcd: no allocations, every container looks unwanted. Nothing is touched.
  auto a = allocation("db1", 0), b = allocation("db2", 0);
  auto actions =
      plan({}, std::vector{container(a, "hash-db1"), container(b, "hash-db2")}, {{key(a), 1}}, {});
  EXPECT_TRUE(actions.empty());
}

TEST(AgentPlan, ContainersOfAnotherClusterAreLeftAlone) {
  auto mine = allocation("db1", 0), theirs = allocation("db2", 0), legacy = allocation("db3", 0);
  auto c_mine = container(mine, "hash-db1"), c_theirs = container(theirs, "hash-db2");
  auto c_legacy = container(legacy, "hash-db3");  // made before cluster ids: ours
  c_mine.labels[engines::labels::kCluster] = "c1";
  c_theirs.labels[engines::labels::kCluster] = "c0";
  auto actions = plan({}, std::vector{c_mine, c_theirs, c_legacy}, {}, ours());
  EXPECT_EQ(kinds_of(actions, key(mine)), std::vector{Kind::Remove});
  EXPECT_TRUE(kinds_of(actions, key(theirs)).empty());
  EXPECT_EQ(kinds_of(actions, key(legacy)), std::vector{Kind::Remove});
}

model::InstanceStatus figures(int64_t memory, int64_t keys, int64_t connections,
                              int64_t operations) {
  model::InstanceStatus s;
  s.memory_used_bytes = memory;
  s.keys = keys;
  s.connections = connections;
  s.operations = operations;
  return s;
}

TEST(AgentPlan, AnIdleInstanceWritesNoStatusABusyOneWhenItsFiguresMove) {
  auto was = figures(100 << 20, 1000, 3, 50000);
  // Idle: the probes' own commands (a few a second), memory within a few KiB.
  EXPECT_FALSE(figures_moved(was, figures((100 << 20) + 4096, 1000, 3, 50000 + 3 * 60), 60, 3));
  EXPECT_FALSE(figures_moved(was, figures(100 << 20, 1005, 3, 50000), 60, 0));
  // Memory by more than 5%, keys by more than 2%, a client more: written.
  EXPECT_TRUE(figures_moved(was, figures(106 << 20, 1000, 3, 50000), 60, 0));
  EXPECT_TRUE(figures_moved(was, figures(100 << 20, 1030, 3, 50000), 60, 0));
  EXPECT_TRUE(figures_moved(was, figures(100 << 20, 1000, 5, 50000), 60, 0));
  // Traffic starts (1000 ops/s against 3), and stops again (3 against 1000).
  EXPECT_TRUE(figures_moved(was, figures(100 << 20, 1000, 3, 50000 + 10000), 10, 3));
  EXPECT_TRUE(figures_moved(was, figures(100 << 20, 1000, 3, 50000 + 30), 10, 1000));
  // Steady traffic: the same rate again is no news.
  EXPECT_FALSE(figures_moved(was, figures(100 << 20, 1000, 3, 50000 + 10050), 10, 1000));
  // A restart sets the counter back: a rate of 0, not a negative one.
  EXPECT_EQ(operations_rate(was, figures(0, 0, 0, 10), 10), 0);
}

TEST(AgentPlan, RoleDecisions) {
  std::vector<RoleCase> cases{
      {"primary serves", model::Role::primary, "10.0.0.2", false, "primary", false,
       RoleStep::Kind::Apply, false, true},
      {"replica promoted", model::Role::primary, "10.0.0.2", false, "replica", false,
       RoleStep::Kind::Apply, false, true},
      {"fenced primary refuses writes", model::Role::primary, "10.0.0.2", true, "primary", false,
       RoleStep::Kind::Apply, true, false},
      {"fenced: no promotion", model::Role::primary, "10.0.0.2", true, "replica", false,
       RoleStep::Kind::Wait, true, false},
      {"fenced replica still follows", model::Role::replica, "", true, "replica", false,
       RoleStep::Kind::Apply, false, false},
      {"demoted primary follows", model::Role::replica, "", false, "primary", false,
       RoleStep::Kind::Apply, false, false},
      {"restarted primary held read-only", model::Role::primary, "10.0.0.2", false, "primary", true,
       RoleStep::Kind::HoldReadOnly, false, false},
      {"no database address to hold", model::Role::primary, "", false, "primary", false,
       RoleStep::Kind::Apply, false, false},
      // Never had a replica: nothing can replace it, so etcd out of reach pauses nothing.
      {"fenced primary without replicas serves on", model::Role::primary, "", true, "primary",
       false, RoleStep::Kind::Apply, false, false},
  };
  for (auto& c : cases) {
    auto a = allocation("db1", 0, c.role);
    a.database_address = c.database_address;
    engines::ProbeResult probe;
    probe.healthy = true;
    probe.role = c.engine_role;
    auto step = decide_role(a, {.fenced = c.fenced}, probe, c.holding_lost_writes);
    EXPECT_EQ(step.kind, c.kind) << c.name;
    EXPECT_EQ(step.config.fenced, c.config_fenced) << c.name;
    EXPECT_EQ(step.hold_address, c.hold_address) << c.name;
    if (step.kind == RoleStep::Kind::Apply) {
      EXPECT_EQ(step.config.role, model::to_string(c.role)) << c.name;
    }
  }
}

}  // namespace
}  // namespace berth::agent
