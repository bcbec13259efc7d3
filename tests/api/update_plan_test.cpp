// plan_update: resize and replica count over a snapshot; which replicas go (the rule that
// ranks them), where new ones go, and the capacity errors naming the field.
#include "api/update_plan.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>

namespace berth::api {
namespace {

scheduler::HostSnapshot host(std::string name, int64_t memory_mb, int64_t allocated_mb) {
  scheduler::HostSnapshot h;
  h.name = std::move(name);
  h.memory_mb = memory_mb;
  h.allocated_mb = allocated_mb;
  return h;
}

model::Allocation instance(int n, std::string host, model::Role role, int64_t memory_mb = 64) {
  model::Allocation a;
  a.database_id = "d1";
  a.n = n;
  a.host = std::move(host);
  a.ip = "10.9.0." + std::to_string(n + 10);
  a.role = role;
  a.memory_mb = memory_mb;
  return a;
}

// A redis-like database: a primary on h1 and `replicas` replicas on h2.., every host with
// 1024 MiB of which 512 are allocated, every instance healthy.
UpdateSnapshot snapshot(int replicas, int hosts = 5) {
  UpdateSnapshot s;
  s.db.id = "d1";
  s.db.name = "cache";
  s.db.engine = "redis";
  s.db.memory_mb = 64;
  s.db.replicas = replicas;
  s.engine = "redis";
  s.shrink_in_place = true;
  s.persistent = true;
  for (int i = 1; i <= hosts; ++i)
    s.hosts["h" + std::to_string(i)] = host("h" + std::to_string(i), 1024, 512);
  for (int n = 0; n <= replicas; ++n) {
    s.instances.push_back(instance(n, "h" + std::to_string(n + 1),
                                   n == 0 ? model::Role::primary : model::Role::replica));
    s.states[n] = model::InstanceState::healthy;
  }
  if (replicas > 0) s.instances[0].database_address = "10.9.0.5";
  return s;
}

std::vector<int> numbers(const std::vector<model::Allocation>& as) {
  std::vector<int> out;
  for (auto& a : as) out.push_back(a.n);
  return out;
}

TEST(UpdatePlan, FewerReplicasDropTheLostThenTheUnhealthyThenTheNewest) {
  struct Case {
    const char* what;
    int replicas;                     // asked for (the database has 4)
    std::vector<int> lost_hosts;      // instance numbers whose host is gone
    std::vector<int> unhealthy;       // instance numbers not healthy
    std::vector<int> missing_status;  // instance numbers with no status at all
    std::vector<int> removed;
  };
  std::vector<Case> cases = {
      {"the newest first", 3, {}, {}, {}, {4}},
      {"the newest two", 2, {}, {}, {}, {4, 3}},
      {"an unhealthy one before the newest", 3, {}, {2}, {}, {2}},
      {"no status counts as unhealthy", 3, {}, {}, {1}, {1}},
      {"a lost host before an unhealthy one", 3, {3}, {2}, {}, {3}},
      {"lost, then unhealthy, then newest", 1, {1}, {2}, {}, {1, 2, 4}},
      {"all of them", 0, {}, {}, {}, {4, 3, 2, 1}},
      {"more replicas remove nothing", 4, {2}, {3}, {}, {}},
  };
  for (auto c : cases) {
    auto s = snapshot(4);
    for (int n : c.lost_hosts) s.hosts.erase("h" + std::to_string(n + 1));
    for (int n : c.unhealthy) s.states[n] = model::InstanceState::unhealthy;
    for (int n : c.missing_status) s.states.erase(n);
    UpdateRequest request;
    request.replicas = c.replicas;
    auto plan = plan_update(s, request);
    ASSERT_FALSE(plan.problem) << c.what << ": " << plan.problem.message;
    auto removed = numbers(plan.removed);
    std::sort(removed.begin(), removed.end());
    std::sort(c.removed.begin(), c.removed.end());
    EXPECT_EQ(removed, c.removed) << c.what;
    EXPECT_EQ(plan.kept.size() + plan.removed.size(), 5u) << c.what;
    EXPECT_TRUE(plan.added.empty()) << c.what;
    EXPECT_EQ(plan.db.replicas, c.replicas) << c.what;
  }
  // The primary never goes, and with no replica left it waits for none.
  auto s = snapshot(2);
  s.instances[0].min_replicas_to_write = 1;
  s.states[0] = model::InstanceState::unhealthy;
  UpdateRequest none;
  none.replicas = 0;
  auto plan = plan_update(s, none);
  ASSERT_EQ(plan.kept.size(), 1u);
  EXPECT_EQ(plan.kept[0].role, model::Role::primary);
  EXPECT_EQ(plan.kept[0].min_replicas_to_write, 0);
}

TEST(UpdatePlan, MoreReplicasGoToOtherHostsWithTheLowestFreeNumbers) {
  auto s = snapshot(1);
  s.instances[1].n = 2;  // instance 1 went away earlier: its number is free again
  s.states = {{0, model::InstanceState::healthy}, {2, model::InstanceState::healthy}};
  s.hosts["h2"].allocated_mb = 0;  // the emptiest host runs a replica already
  s.hosts["h4"].allocated_mb = 100;
  UpdateRequest request;
  request.replicas = 3;
  auto plan = plan_update(s, request);
  ASSERT_FALSE(plan.problem) << plan.problem.message;
  ASSERT_EQ(plan.added.size(), 2u);
  EXPECT_EQ(plan.added[0].n, 1);
  EXPECT_EQ(plan.added[0].host, "h4");  // the most free memory, h1 and h2 excluded
  EXPECT_EQ(plan.added[1].n, 3);
  EXPECT_NE(plan.added[1].host, "h4");
  EXPECT_EQ(plan.primary_ip, s.instances[0].ip);
  EXPECT_FALSE(plan.needs_database_address);  // it has replicas already

  // A first replica: the database gets an address of its own.
  auto single = snapshot(0);
  UpdateRequest one;
  one.replicas = 1;
  auto first = plan_update(single, one);
  ASSERT_FALSE(first.problem);
  EXPECT_TRUE(first.needs_database_address);
  EXPECT_EQ(first.added.size(), 1u);
}

TEST(UpdatePlan, RefusalsNameTheField) {
  struct Case {
    const char* what;
    std::function<void(UpdateSnapshot&, UpdateRequest&)> setup;
    int status;
    std::string message;
  };
  Case cases[] = {
      {"no room to grow on a host",
       [](UpdateSnapshot& s, UpdateRequest& r) {
         s.hosts["h2"].allocated_mb = 1000;
         r.memory_mb = 128;
       },
       409, "memory_mb: host h2 has 24 MiB free, 64 MiB more are needed"},
      {"cannot shrink in place",
       [](UpdateSnapshot& s, UpdateRequest& r) {
         s.engine = "tarantool";
         s.shrink_in_place = false;
         r.memory_mb = 32;
       },
       409, "memory_mb: tarantool cannot shrink in place (64 MiB now); only growing is possible"},
      {"no primary",
       [](UpdateSnapshot& s, UpdateRequest& r) {
         s.instances[0].role = model::Role::replica;
         r.memory_mb = 128;
       },
       409, "database: it has no primary right now; try again shortly"},
      {"too few hosts for the replicas",
       [](UpdateSnapshot& s, UpdateRequest& r) {
         s.hosts.erase("h4");
         s.hosts.erase("h5");
         r.replicas = 3;
       },
       409, "replicas: 3 replicas need 4 hosts that can take an instance of 64 MiB; only 3 can"},
      {"a schedule for an engine without data",
       [](UpdateSnapshot& s, UpdateRequest& r) {
         s.engine = "memcached";
         s.persistent = false;
         r.backup_schedule = "0 3 * * *";
       },
       422, "backup_schedule: memcached keeps no data to back up"},
  };
  for (auto& c : cases) {
    auto s = snapshot(1);
    UpdateRequest r;
    c.setup(s, r);
    auto plan = plan_update(s, r);
    EXPECT_EQ(plan.problem.status, c.status) << c.what;
    EXPECT_EQ(plan.problem.message, c.message) << c.what;
  }
}

TEST(UpdatePlan, GrowingCountsEachHostOnceAndShrinkingNeedsNoRoom) {
  auto s = snapshot(1);
  s.hosts["h1"].allocated_mb = 1024;  // full: but a shrink needs no room
  UpdateRequest shrink;
  shrink.memory_mb = 32;
  auto plan = plan_update(s, shrink);
  ASSERT_FALSE(plan.problem) << plan.problem.message;
  for (auto& a : plan.kept) EXPECT_EQ(a.memory_mb, 32);
  EXPECT_EQ(plan.db.memory_mb, 32);

  // A resize and a new replica at once: the new replica needs the new size on its host.
  auto t = snapshot(0, 2);
  t.hosts["h2"].allocated_mb = 1024 - 100;
  UpdateRequest both;
  both.memory_mb = 128;
  both.replicas = 1;
  auto refused = plan_update(t, both);
  EXPECT_EQ(refused.problem.status, 409);
  EXPECT_EQ(refused.problem.message.rfind("memory_mb:", 0), 0u) << refused.problem.message;

  // A schedule change clears the next time; the rest of the record stays.
  auto u = snapshot(0);
  u.db.backup_schedule = "0 3 * * *";
  u.db.backup_next = "2026-11-28T03:00:00Z";
  UpdateRequest schedule;
  schedule.backup_schedule = "0 4 * * *";
  schedule.backup_keep = 3;
  auto changed = plan_update(u, schedule);
  ASSERT_FALSE(changed.problem);
  EXPECT_EQ(changed.db.backup_schedule, "0 4 * * *");
  EXPECT_EQ(changed.db.backup_next, "");
  EXPECT_EQ(changed.db.backup_keep, 3);
  EXPECT_EQ(changed.db.memory_mb, 64);
}

}  // namespace
}  // namespace berth::api
