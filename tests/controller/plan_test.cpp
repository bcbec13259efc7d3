// The reconciler's decisions, table by table, without I/O.
#include "controller/plan.hpp"

#include <gtest/gtest.h>

#include <set>

namespace berth::controller {
namespace {

namespace keys = model::keys;

const Writes& writes(const Change& c) {
  return *writes_of(c);
}

struct Builder {
  Snapshot s;

  Builder() {
    // Instances sit at 10.0.0.10 and up; new addresses come from the bottom: 10.0.0.2.
    s.network = model::NetworkConfig{"10.0.0.0/24", "10.0.0.1", {}, "bridge", "berth"};
  }

  Builder& host(const std::string& name, int64_t memory_mb = 4096) {
    s.hosts[name] = {name, memory_mb, 0, 0, false, {}};
    return *this;
  }
  Builder& database(const std::string& id, int replicas, int64_t epoch = 1) {
    model::Database db;
    db.id = id;
    db.name = "db-" + id;
    db.memory_mb = 64;
    db.replicas = replicas;
    db.epoch = epoch;
    db.address = replicas > 0 ? "10.0.9." + std::to_string(s.databases.size() + 1) : "";
    s.databases[id] = {db, 10};
    return *this;
  }
  Builder& instance(const std::string& id, int n, const std::string& host, const std::string& role,
                    int64_t offset = 0, const std::string& state = "healthy",
                    bool primary_down = false, int min_replicas = 0) {
    model::Allocation a;
    a.database_id = id;
    a.n = n;
    a.host = host;
    a.ip = "10.0.0." + std::to_string(10 + n);
    a.role = model::from_name<model::Role>(role);
    a.memory_mb = 64;
    a.epoch = s.databases[id].first.epoch;
    a.min_replicas_to_write = min_replicas;
    a.database_address = role == "primary" ? s.databases[id].first.address : "";
    s.allocations.push_back({keys::allocation(host, id, n), 20 + n, a});
    s.addresses[a.ip] = {keys::instance_owner(id, n), 40 + n};
    if (s.hosts.count(host)) {
      model::InstanceStatus st;
      st.host = host;
      st.state = model::from_name<model::InstanceState>(state);
      st.role = model::from_name<model::Role>(role);
      st.offset = offset;
      st.link_up = role == "replica" && state == "healthy";
      st.primary_down = primary_down;
      s.statuses[keys::instance_owner(id, n)] = st;
    }
    return *this;
  }
};

model::Allocation put_value(const Change& c, const std::string& key) {
  return model::parse<model::Allocation>(writes(c).puts.at(key));
}

TEST(Plan, SteadyStateNeedsNothing) {
  Builder b;
  b.host("h1").host("h2").database("d", 1).instance("d", 0, "h1", "primary", 100, "healthy", false,
                                                    1);
  b.instance("d", 1, "h2", "replica", 100);
  EXPECT_TRUE(plan(b.s).empty());
}

TEST(Plan, LostPrimaryHostPromotesTheReplicaWithTheHighestOffset) {
  Builder b;
  b.host("h2").host("h3").host("h4").database("d", 2, 3);
  b.instance("d", 0, "h1", "primary");  // h1 is gone
  b.instance("d", 1, "h2", "replica", 500);
  b.instance("d", 2, "h3", "replica", 900);
  auto changes = plan(b.s);
  ASSERT_EQ(changes.size(), 1u);
  auto& c = changes[0];
  EXPECT_TRUE(std::holds_alternative<Failover>(c));
  auto promoted = put_value(c, keys::allocation("h3", "d", 2));
  EXPECT_EQ(promoted.role, model::Role::primary);
  EXPECT_EQ(promoted.epoch, 4);
  EXPECT_EQ(promoted.database_address, b.s.databases["d"].first.address);
  EXPECT_EQ(promoted.min_replicas_to_write, 1);  // instance 1 is still in sync
  auto other = put_value(c, keys::allocation("h2", "d", 1));
  EXPECT_EQ(other.primary_ip, promoted.ip);
  // The lost primary returns as a replica on the free host, same number, a new address: its
  // old container may still hold the old one on h1. That one stays taken until h1 says.
  auto moved = put_value(c, keys::allocation("h4", "d", 0));
  EXPECT_EQ(moved.role, model::Role::replica);
  EXPECT_EQ(moved.ip, "10.0.0.2");
  EXPECT_EQ(moved.primary_ip, promoted.ip);
  EXPECT_EQ(writes(c).puts.at(keys::address("10.0.0.2")), "d/0");
  EXPECT_EQ(writes(c).expect_mod_revision.at(keys::address("10.0.0.2")), 0);
  EXPECT_EQ(writes(c).puts.at(keys::address("10.0.0.10")), "retired/h1/d/0");
  EXPECT_EQ(writes(c).expect_mod_revision.at(keys::address("10.0.0.10")), 40);
  EXPECT_EQ(keys::retired_on("retired/h1/d/0"), "h1");
  EXPECT_EQ(keys::retired_on("d/0"), "");
  EXPECT_EQ(writes(c).deletes, std::vector<std::string>{keys::allocation("h1", "d", 0)});
  // The epoch moves in the same transaction, guarded by what was read.
  EXPECT_EQ(model::parse<model::Database>(writes(c).puts.at(keys::database("d"))).epoch, 4);
  EXPECT_EQ(writes(c).expect_mod_revision.at(keys::database("d")), 10);
  EXPECT_EQ(writes(c).expect_mod_revision.at(keys::allocation("h4", "d", 0)), 0);
  auto& f = std::get<Failover>(c);
  EXPECT_EQ(f.promoted, 2);
  EXPECT_EQ(f.lost, 0);
  EXPECT_EQ(f.lost_to, "h4");
  EXPECT_EQ(f.epoch, 4);
  EXPECT_EQ(kind(c), "failover");
  EXPECT_EQ(detail(c), "instance 2 on h3 promoted (epoch 4), instance 0 re-created on h4");
}

TEST(Plan, APrimaryWhoseAgentDiedButThatAnswersIsKept) {
  // h1's lease is gone (its agent was killed) but the leader's probes still reach the
  // primary: promoting would leave two writable instances, and nothing could fence the old.
  Builder b;
  b.host("h2").host("h3").database("d", 1);
  b.instance("d", 0, "h1", "primary");
  b.instance("d", 1, "h2", "replica", 500);
  b.s.answering.insert("d/0");
  for (auto& c : plan(b.s))
    EXPECT_FALSE(std::holds_alternative<Failover>(c)) << kind(c) << ": " << detail(c);
  // Its agent left on purpose (dockerd is down there) and fenced it: failed over.
  b.s.left.insert("h1");
  ASSERT_EQ(plan(b.s).size(), 1u);
  EXPECT_TRUE(std::holds_alternative<Failover>(plan(b.s)[0]));
  b.s.left.clear();
  // It stops answering (the host died after all): failed over.
  b.s.answering.clear();
  auto changes = plan(b.s);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<Failover>(changes[0]));
}

TEST(Plan, APrimaryWhoseAgentDiedIsPromotedOverOnlyOnceItsOwnFenceHasActed) {
  // h1's agent died; then its primary fell silent (the host cut off). Until the engine's own
  // rule has refused writes (no replica acknowledging for a few seconds), clients that still
  // reach it could write to it beside the promoted replica.
  Builder b;
  b.host("h2").host("h3").database("d", 1);
  b.instance("d", 0, "h1", "primary", 0, "healthy", false, 1);
  b.instance("d", 1, "h2", "replica", 500, "healthy", /*primary_down=*/true);
  b.s.unreachable.insert("d/0");
  b.s.answered_lately.insert("d/0");
  for (auto& c : plan(b.s))
    EXPECT_FALSE(std::holds_alternative<Failover>(c)) << kind(c) << ": " << detail(c);
  // Silent for longer than the engine's fence takes: failed over.
  b.s.answered_lately.clear();
  auto changes = plan(b.s);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<Failover>(changes[0]));
  // An agent that left on purpose fenced its primaries itself: no wait.
  b.s.answered_lately.insert("d/0");
  b.s.left.insert("h1");
  changes = plan(b.s);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<Failover>(changes[0]));
  // A live agent fences its own: a host still under its lease is failed over on the witness.
  b.s.left.clear();
  b.host("h1");
  changes = plan(b.s);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<Failover>(changes[0]));
}

TEST(Plan, NoHealthyReplicaMeansNoPromotion) {
  Builder b;
  b.host("h2").database("d", 1);
  b.instance("d", 0, "h1", "primary");
  b.instance("d", 1, "h2", "replica", 5, "unhealthy");
  EXPECT_TRUE(plan(b.s).empty());
}

TEST(Plan, AReplicaStillOnItsFirstSyncIsNeverPromoted) {
  // Found by the 200-fault chaos run: a failover re-created the lost instance on a fresh
  // volume; the next fault took the new primary before that replica had copied anything, and
  // promoting it wiped the database (its replica then copied the empty one).
  Builder b;
  b.host("h2").host("h3").database("d", 1);
  b.instance("d", 0, "h1", "primary");  // h1 is gone
  b.instance("d", 1, "h2", "replica", 0);
  b.s.statuses["d/1"].synced = false;
  b.s.statuses["d/1"].link_up = false;
  EXPECT_TRUE(plan(b.s).empty()) << "an empty replica would be promoted";
  // One that had finished its sync, and lost its link as the primary died, is promoted.
  b.s.statuses["d/1"].synced = true;
  auto changes = plan(b.s);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<Failover>(changes[0]));
}

TEST(Plan, UnreachablePrimaryNeedsAWitness) {
  Builder b;
  b.host("h1").host("h2").database("d", 1);
  b.instance("d", 0, "h1", "primary", 0, "healthy", false, 1);
  b.instance("d", 1, "h2", "replica", 7, "healthy", /*primary_down=*/false);
  b.s.unreachable.insert("d/0");
  EXPECT_TRUE(plan(b.s).empty()) << "the replica still reaches the primary";
  b.s.statuses["d/1"].primary_down = true;
  auto changes = plan(b.s);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<Failover>(changes[0]));
}

TEST(Plan, LostReplicaIsRecreatedElsewhereAtANewAddress) {
  Builder b;
  b.host("h1").host("h3").database("d", 1);
  b.instance("d", 0, "h1", "primary", 0, "healthy", false, 0);
  b.instance("d", 1, "h2", "replica");                 // h2 is gone
  b.s.addresses["10.0.0.2"] = {"retired/h2/x/0", 50};  // taken: the next free one is .3
  auto changes = plan(b.s);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<Replace>(changes[0]));
  auto moved = put_value(changes[0], keys::allocation("h3", "d", 1));
  EXPECT_EQ(moved.ip, "10.0.0.3");
  EXPECT_EQ(moved.primary_ip, "10.0.0.10");
  EXPECT_EQ(writes(changes[0]).puts.at(keys::address("10.0.0.11")), "retired/h2/d/1");
}

TEST(Plan, TwoLostReplicasTakeTwoDifferentAddresses) {
  Builder b;
  b.host("h1").host("h4").host("h5").database("d", 2);
  b.instance("d", 0, "h1", "primary", 0, "healthy", false, 0);
  b.instance("d", 1, "h2", "replica");  // h2 and h3 are gone
  b.instance("d", 2, "h3", "replica");
  auto changes = plan(b.s);
  ASSERT_EQ(changes.size(), 2u);
  std::set<std::string> ips;
  for (auto& c : changes)
    for (auto& [key, value] : writes(c).puts)
      if (key.starts_with(keys::kAllocations))
        ips.insert(model::parse<model::Allocation>(value).ip);
  EXPECT_EQ(ips, (std::set<std::string>{"10.0.0.2", "10.0.0.3"}));
}

TEST(Plan, NoAddressLeftNoReplacement) {
  Builder b;
  b.host("h1").host("h3").database("d", 1);
  b.instance("d", 0, "h1", "primary", 0, "healthy", false, 0);
  b.instance("d", 1, "h2", "replica");  // h2 is gone
  b.s.network->subnet = "10.0.0.8/29";  // .9 to .14, gateway elsewhere
  b.s.network->exclude = {"10.0.0.12-10.0.0.14"};
  b.s.addresses["10.0.0.9"] = {"host/h1", 1};
  for (auto& c : plan(b.s))
    EXPECT_FALSE(std::holds_alternative<Replace>(c)) << "never at the lost replica's address";
}

TEST(Plan, MinReplicasFollowsWhetherAReplicaIsInSync) {
  Builder b;
  b.host("h1").host("h2").database("d", 1);
  b.instance("d", 0, "h1", "primary", 0, "healthy", false, 0);
  b.instance("d", 1, "h2", "replica", 0);
  auto changes = plan(b.s);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(put_value(changes[0], keys::allocation("h1", "d", 0)).min_replicas_to_write, 1);
  b.s.statuses["d/1"].link_up = false;
  b.s.allocations[0].allocation.min_replicas_to_write = 1;
  changes = plan(b.s);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(put_value(changes[0], keys::allocation("h1", "d", 0)).min_replicas_to_write, 0);
}

TEST(Plan, APrimaryOnADrainingHostSwitchesOverOnceEverythingIsHealthy) {
  Builder b;
  b.host("h1").host("h2").host("h3").database("d", 1);
  b.s.hosts["h1"].draining = true;
  b.instance("d", 0, "h1", "primary", 100, "healthy", false, 1);
  b.instance("d", 1, "h2", "replica", 100);
  auto changes = plan(b.s);
  ASSERT_EQ(changes.size(), 1u);
  ASSERT_TRUE(std::holds_alternative<Switchover>(changes[0]));
  EXPECT_EQ(std::get<Switchover>(changes[0]).from_host, "h1");
  EXPECT_EQ(writes_of(changes[0]), nullptr);  // an operation, not a write
  EXPECT_EQ(detail(changes[0]), "primary leaves draining host h1");
  b.s.switching.insert("d");
  EXPECT_TRUE(plan(b.s).empty()) << "one switchover at a time: nothing moves meanwhile";
  b.s.switching.clear();
  b.s.statuses["d/1"].state = model::InstanceState::starting;
  for (auto& c : plan(b.s))
    EXPECT_FALSE(std::holds_alternative<Switchover>(c)) << "not while an instance is unsettled";
}

TEST(Plan, SingleInstanceDatabasesAreLeftToTheirHost) {
  Builder b;
  b.host("h2").database("d", 0);
  b.instance("d", 0, "h1", "primary");
  EXPECT_TRUE(plan(b.s).empty());
}

TEST(Plan, ACrashLoopingReplicaMovesToAnotherHostWithItsNumberAndAddress) {
  Builder b;
  b.host("h1").host("h2").host("h3").database("d", 1);
  b.instance("d", 0, "h1", "primary", 100, "healthy", false, 1);
  b.instance("d", 1, "h2", "replica", 0, "failed");
  auto changes = plan(b.s);
  ASSERT_GE(changes.size(), 1u);
  auto& c = changes[0];
  EXPECT_TRUE(std::holds_alternative<Move>(c));
  auto moved = put_value(c, keys::allocation("h3", "d", 1));
  EXPECT_EQ(moved.ip, "10.0.0.11");
  EXPECT_EQ(moved.role, model::Role::replica);
  EXPECT_EQ(writes(c).deletes, std::vector<std::string>{keys::allocation("h2", "d", 1)});
}

TEST(Plan, AMovedReplicaIsNotMovedAgainOnItsOldHostsReport) {
  Builder b;
  b.host("h1").host("h2").host("h3").database("d", 1);
  b.instance("d", 0, "h1", "primary", 100, "healthy", false, 1);
  b.instance("d", 1, "h3", "replica", 0, "failed");
  b.s.statuses[keys::instance_owner("d", 1)].host = "h2";  // still the crashing host's word
  for (auto& c : plan(b.s)) EXPECT_FALSE(std::holds_alternative<Move>(c)) << detail(c);
}

TEST(Plan, ACrashLoopingPrimaryFailsOverAndMoves) {
  Builder b;
  b.host("h1").host("h2").host("h3").database("d", 1, 4);
  b.instance("d", 0, "h1", "primary", 100, "failed", false, 1);
  b.instance("d", 1, "h2", "replica", 100);
  auto changes = plan(b.s);
  ASSERT_EQ(changes.size(), 1u);
  auto& c = changes[0];
  EXPECT_TRUE(std::holds_alternative<Failover>(c));
  EXPECT_EQ(put_value(c, keys::allocation("h2", "d", 1)).role, model::Role::primary);
  EXPECT_EQ(put_value(c, keys::allocation("h2", "d", 1)).epoch, 5);
  // The crashing instance comes back as a replica on the one host that has neither.
  EXPECT_EQ(put_value(c, keys::allocation("h3", "d", 0)).role, model::Role::replica);
}

TEST(Plan, ACrashLoopingSoleInstanceStaysPut) {
  // Nothing to promote and nowhere its data lives: it stays, and the API shows it failed.
  Builder b;
  b.host("h1").host("h2").database("d", 0);
  b.instance("d", 0, "h1", "primary", 0, "failed");
  EXPECT_TRUE(plan(b.s).empty());
}

TEST(Plan, ACacheOnALostHostStartsAfreshElsewhereAtANewAddress) {
  Builder b;
  b.host("h2").host("h3").database("d", 0);
  b.s.databases["d"].first.durable = false;
  b.instance("d", 0, "h1", "primary");  // h1 is gone
  auto changes = plan(b.s);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<Replace>(changes[0]));
  auto moved = put_value(changes[0], keys::allocation("h2", "d", 0));
  EXPECT_EQ(moved.ip, "10.0.0.2");
  EXPECT_EQ(moved.role, model::Role::primary);
  EXPECT_EQ(writes(changes[0]).puts.at(keys::address("10.0.0.10")), "retired/h1/d/0");
  // A durable database without replicas waits for its host: its data is there.
  b.s.databases["d"].first.durable = true;
  EXPECT_TRUE(plan(b.s).empty());
}

}  // namespace
}  // namespace berth::controller
