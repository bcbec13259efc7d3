#include "events/events.hpp"

#include <gtest/gtest.h>

namespace berth::events {
namespace {

View base() {
  View v;
  v.hosts = {{"h1", "alive"}, {"h2", "alive"}};
  v.databases["d1"] = {"cache", "redis", 256, 1};
  v.instances["d1/0"] = {"d1", "h1", "primary", "healthy", ""};
  v.instances["d1/1"] = {"d1", "h2", "replica", "healthy", ""};
  return v;
}

std::vector<std::string> kinds(const std::vector<Event>& events) {
  std::vector<std::string> out;
  for (auto& e : events) out.push_back(e.kind);
  return out;
}

TEST(Events, NothingChangedNothingHappened) {
  EXPECT_TRUE(diff(base(), base()).empty());
}

TEST(Events, CreatedThenHealthy) {
  View before;
  before.hosts = base().hosts;
  View starting = before;
  starting.databases["d1"] = {"cache", "redis", 256, 0};
  starting.instances["d1/0"] = {"d1", "h1", "primary", "starting", ""};
  auto created = diff(before, starting);
  ASSERT_EQ(kinds(created), std::vector<std::string>{"database.created"});
  EXPECT_EQ(created[0].name, "cache");
  EXPECT_EQ(created[0].message, "redis database cache created: 256 MiB, 0 replicas");
  View healthy = starting;
  healthy.instances["d1/0"].state = "healthy";
  auto became = diff(starting, healthy);
  ASSERT_EQ(kinds(became), std::vector<std::string>{"instance.healthy"});
  EXPECT_EQ(became[0].instance, 0);
  EXPECT_EQ(became[0].host, "h1");
}

TEST(Events, FailoverWhenThePrimaryWasLostSwitchoverWhenNot) {
  View lost = base();
  lost.hosts["h1"] = "down";
  lost.instances["d1/0"].role = "replica";
  lost.instances["d1/1"].role = "primary";
  auto failover = diff(base(), lost);
  ASSERT_EQ(kinds(failover), (std::vector<std::string>{"host.down", "database.failover"}));
  EXPECT_EQ(failover[1].host, "h2");
  EXPECT_EQ(failover[1].instance, 1);

  View handed = base();
  handed.instances["d1/0"].role = "replica";
  handed.instances["d1/1"].role = "primary";
  EXPECT_EQ(kinds(diff(base(), handed)), std::vector<std::string>{"database.switchover"});
  // Cut off: its host's lease still runs and its last report said healthy, but the
  // controller failed it over on its probes.
  EXPECT_EQ(kinds(diff(base(), handed, {"d1"})), std::vector<std::string>{"database.failover"});
}

TEST(Events, ResizedScaledMovedDeleted) {
  View after = base();
  after.databases["d1"].memory_mb = 512;
  after.databases["d1"].replicas = 2;
  after.instances["d1/1"].host = "h3";
  after.instances["d1/1"].state = "";
  auto events = diff(base(), after);
  EXPECT_EQ(kinds(events),
            (std::vector<std::string>{"database.resized", "database.scaled", "instance.moved"}));
  EXPECT_EQ(events[0].message, "cache resized from 256 to 512 MiB");

  View gone;
  gone.hosts = base().hosts;
  EXPECT_EQ(kinds(diff(base(), gone)), std::vector<std::string>{"database.deleted"});
}

TEST(Events, HostsDrainAndComeBack) {
  View draining = base();
  draining.hosts["h2"] = "draining";
  EXPECT_EQ(kinds(diff(base(), draining)), std::vector<std::string>{"host.draining"});
  EXPECT_EQ(kinds(diff(draining, base())), std::vector<std::string>{"host.undrained"});
  View down = base();
  down.hosts["h2"] = "down";
  EXPECT_EQ(kinds(diff(down, base())), std::vector<std::string>{"host.up"});
  EXPECT_EQ(kinds(diff(draining, down)), std::vector<std::string>{"host.down"});
}

TEST(Events, AnAgentThatRestartedWithinItsLeaseIsOneEvent) {
  View before = base();
  before.agents = {{"h1", "2026-11-27T10:00:00Z"}, {"h2", "2026-11-27T10:00:00Z"}};
  View after = before;
  after.agents["h1"] = "2026-11-27T11:00:00Z";
  auto events = diff(before, after);
  ASSERT_EQ(kinds(events), std::vector<std::string>{"host.agent_restarted"});
  EXPECT_EQ(events[0].host, "h1");
  // A host that joins or comes back up says so once, not also as a restart.
  View back = after;
  back.agents["h2"] = "2026-11-27T12:00:00Z";
  View down = after;
  down.hosts["h2"] = "down";
  down.agents.erase("h2");
  EXPECT_EQ(kinds(diff(down, back)), std::vector<std::string>{"host.up"});
}

TEST(Events, EtcdFillingAndRoomAgain) {
  View ok = base();
  ok.etcd = "ok";
  View filling = base();
  filling.etcd = "82% of its quota";
  EXPECT_TRUE(diff(base(), ok).empty());  // the first look says nothing when all is well
  auto events = diff(ok, filling);
  ASSERT_EQ(kinds(events), std::vector<std::string>{"etcd.filling"});
  EXPECT_NE(events[0].message.find("82% of its quota"), std::string::npos);
  EXPECT_EQ(kinds(diff(base(), filling)), std::vector<std::string>{"etcd.filling"});
  View nospace = base();
  nospace.etcd = "NOSPACE";
  EXPECT_EQ(kinds(diff(filling, nospace)), std::vector<std::string>{"etcd.filling"});
  EXPECT_EQ(kinds(diff(nospace, ok)), std::vector<std::string>{"etcd.ok"});
}

TEST(Events, TasksStartAndEnd) {
  View started = base();
  started.tasks["t1"] = {"backup", "pending", "d1", "cache", ""};
  EXPECT_EQ(kinds(diff(base(), started)), std::vector<std::string>{"backup.started"});
  View running = started;
  running.tasks["t1"].state = "running";
  EXPECT_TRUE(diff(started, running).empty());
  View done = running;
  done.tasks["t1"].state = "done";
  done.tasks["t1"].detail = "backup b1: 1.2M";
  auto ended = diff(running, done);
  ASSERT_EQ(kinds(ended), std::vector<std::string>{"backup.done"});
  EXPECT_EQ(ended[0].message, "backup of cache done: backup b1: 1.2M");
}

TEST(Events, KeysSortByTime) {
  EXPECT_LT(key(1700000000000000, 0), key(1700000000000000, 1));
  EXPECT_LT(key(999, 5), key(1000, 0));
  EXPECT_LT(key_before(1000), key(1000, 0));
}

}  // namespace
}  // namespace berth::events
