#include "state/view.hpp"

#include <gtest/gtest.h>

namespace berth::state {
namespace {

namespace keys = model::keys;
using store::WatchEvent;

struct Feed {
  View view;
  int64_t revision = 100;

  template <class T>
  void put(const std::string& key, const T& value) {
    put_raw(key, model::dump(value));
  }
  void put_raw(const std::string& key, const std::string& value) {
    store::KeyValue kv{key, value, 1, ++revision, 1, 0};
    view.apply({WatchEvent{WatchEvent::Type::Put, kv}});
  }
  void erase(const std::string& key) {
    store::KeyValue kv{key, "", 0, ++revision, 0, 0};
    view.apply({WatchEvent{WatchEvent::Type::Delete, kv}});
  }
};

model::Database database(const std::string& id, const std::string& name) {
  model::Database db;
  db.id = id;
  db.name = name;
  return db;
}

model::Allocation allocation(const std::string& id, int n, const std::string& host,
                             model::Role role = model::Role::replica, int64_t epoch = 1) {
  model::Allocation a;
  a.database_id = id;
  a.n = n;
  a.host = host;
  a.role = role;
  a.epoch = epoch;
  return a;
}

std::vector<int> numbers(const std::vector<const AllocationRecord*>& records) {
  std::vector<int> out;
  for (auto* r : records) out.push_back(r->value.n);
  return out;
}

TEST(View, DatabasesByIdAndNameFollowPutsRenamesAndDeletes) {
  Feed f;
  f.put(keys::database("d1"), database("d1", "orders"));
  f.put(keys::database("d2"), database("d2", "carts"));
  ASSERT_NE(f.view.database("d1"), nullptr);
  EXPECT_EQ(f.view.database("d1")->mod_revision, 101);
  EXPECT_EQ(f.view.database_named("default", "carts")->value.id, "d2");

  f.put(keys::database("d1"), database("d1", "invoices"));  // renamed
  EXPECT_EQ(f.view.database_named("default", "orders"), nullptr);
  EXPECT_EQ(f.view.database_named("default", "invoices")->value.id, "d1");
  EXPECT_EQ(f.view.database("d1")->mod_revision, 103);

  f.erase(keys::database("d1"));
  EXPECT_EQ(f.view.database("d1"), nullptr);
  EXPECT_EQ(f.view.database_named("default", "invoices"), nullptr);
  EXPECT_EQ(f.view.databases().size(), 1u);
}

TEST(View, AllocationsByDatabaseInInstanceOrderAndByHost) {
  Feed f;
  f.put(keys::allocation("h2", "d1", 10), allocation("d1", 10, "h2"));
  f.put(keys::allocation("h1", "d1", 2), allocation("d1", 2, "h1"));
  f.put(keys::allocation("h1", "d1", 0), allocation("d1", 0, "h1", model::Role::primary));
  f.put(keys::allocation("h1", "d2", 0), allocation("d2", 0, "h1", model::Role::primary));
  EXPECT_EQ(numbers(f.view.allocations_of("d1")), (std::vector<int>{0, 2, 10}));
  EXPECT_EQ(f.view.allocations_on("h1").size(), 3u);
  EXPECT_EQ(f.view.allocations_on("h2").size(), 1u);
  EXPECT_EQ(f.view.allocation("d1", 2)->value.host, "h1");
  EXPECT_EQ(f.view.allocation("d1", 3), nullptr);

  // Instance 2 moves from h1 to h3: the new key is put before the old one goes, in one batch.
  store::KeyValue moved{
      keys::allocation("h3", "d1", 2), model::dump(allocation("d1", 2, "h3")), 1, 200, 1, 0};
  store::KeyValue old{keys::allocation("h1", "d1", 2), "", 0, 200, 0, 0};
  f.view.apply({{WatchEvent::Type::Put, moved}, {WatchEvent::Type::Delete, old}});
  EXPECT_EQ(numbers(f.view.allocations_of("d1")), (std::vector<int>{0, 2, 10}));
  EXPECT_EQ(f.view.allocation("d1", 2)->value.host, "h3");
  EXPECT_EQ(f.view.allocation("d1", 2)->mod_revision, 200);
  EXPECT_EQ(f.view.allocations_on("h1").size(), 2u);
  EXPECT_EQ(f.view.allocations_on("h3").size(), 1u);

  // The database's allocations go: its index entries go with them.
  for (auto* key : {"h1/d1/0", "h3/d1/2", "h2/d1/10"}) f.erase(keys::kAllocations + key);
  EXPECT_TRUE(f.view.allocations_of("d1").empty());
  EXPECT_TRUE(f.view.allocations_on("h2").empty());
  EXPECT_EQ(f.view.allocations_on("h1").size(), 1u);
  EXPECT_EQ(f.view.allocations().size(), 1u);
}

TEST(View, PrimaryOfFollowsPromotions) {
  Feed f;
  f.put(keys::allocation("h1", "d1", 0), allocation("d1", 0, "h1", model::Role::primary, 1));
  f.put(keys::allocation("h2", "d1", 1), allocation("d1", 1, "h2", model::Role::replica, 1));
  EXPECT_EQ(f.view.primary_of("d1")->value.n, 0);
  // A failover: instance 1 promoted under epoch 2 while the old primary's record still says
  // primary (its host is gone and nobody has demoted it yet).
  f.put(keys::allocation("h2", "d1", 1), allocation("d1", 1, "h2", model::Role::primary, 2));
  EXPECT_EQ(f.view.primary_of("d1")->value.n, 1);
  EXPECT_EQ(f.view.primary_of("nope"), nullptr);
}

TEST(View, StatusTasksAndBackupsByDatabase) {
  Feed f;
  model::InstanceStatus st;
  st.state = model::InstanceState::healthy;
  f.put(keys::status("h1", "d1", 1), st);
  f.put(keys::status("h1", "d1", 0), st);
  f.put(keys::status("h1", "d2", 0), st);
  EXPECT_EQ(f.view.status("d1", 1)->value.state, model::InstanceState::healthy);
  EXPECT_EQ(f.view.statuses_of("d1").size(), 2u);
  f.erase(keys::status("h1", "d1", 1));
  EXPECT_EQ(f.view.status("d1", 1), nullptr);
  EXPECT_EQ(f.view.statuses_of("d1").size(), 1u);

  model::Task t;
  t.id = "t1";
  t.database_id = "d1";
  t.kind = model::TaskKind::backup;
  f.put(keys::task("t1"), t);
  EXPECT_EQ(f.view.tasks_of("d1").size(), 1u);
  t.database_id = "d2";  // a task's database never changes in practice; the index follows anyway
  f.put(keys::task("t1"), t);
  EXPECT_TRUE(f.view.tasks_of("d1").empty());
  EXPECT_EQ(f.view.tasks_of("d2").front()->value.kind, model::TaskKind::backup);
  f.put_raw(keys::task_claim("t1"), "h1");
  EXPECT_TRUE(f.view.claimed("t1"));
  f.erase(keys::task_claim("t1"));
  EXPECT_FALSE(f.view.claimed("t1"));

  model::Backup b;
  b.id = "b1";
  b.database_id = "d1";
  f.put(keys::backup("b1"), b);
  EXPECT_EQ(f.view.backups_of("d1").size(), 1u);
  f.erase(keys::backup("b1"));
  EXPECT_TRUE(f.view.backups_of("d1").empty());
  EXPECT_EQ(f.view.backup("b1"), nullptr);
}

// Each host keeps its own status of an instance; the one that counts is from the host that holds
// the instance's allocation, so a host the instance has left cannot speak for it.
TEST(View, AnInstancesStatusIsItsHostsOwn) {
  Feed f;
  model::InstanceStatus left, now;
  left.state = model::InstanceState::healthy;
  now.state = model::InstanceState::starting;
  f.put(keys::allocation("h2", "d1", 1), allocation("d1", 1, "h2", model::Role::replica, 1));
  f.put(keys::status("h1", "d1", 1), left);  // the host it ran on before
  f.put(keys::status("h2", "d1", 1), now);
  ASSERT_NE(f.view.status("d1", 1), nullptr);
  EXPECT_EQ(f.view.status("d1", 1)->value.state, model::InstanceState::starting);
  EXPECT_EQ(f.view.status("d1", 1)->value.host, "h2");  // the key says whose it is
  EXPECT_EQ(f.view.statuses_of("d1").size(), 1u);
  EXPECT_EQ(f.view.statuses().size(), 2u);
  f.erase(keys::status("h2", "d1", 1));
  EXPECT_EQ(f.view.status("d1", 1), nullptr);  // not the old host's word instead
  // No allocation at all (a deleted instance): whatever a host still says.
  f.erase(keys::allocation("h2", "d1", 1));
  ASSERT_NE(f.view.status("d1", 1), nullptr);
  EXPECT_EQ(f.view.status("d1", 1)->value.host, "h1");
}

TEST(View, HostsSettingsConfigAndServers) {
  Feed f;
  model::Host h;
  h.name = "h1";
  h.memory_bytes = 1 << 30;
  f.put(keys::host("h1"), h);
  f.put(keys::host_settings("h1"), model::HostSettings{true, ""});
  model::NetworkConfig net;
  net.subnet = "10.1.0.0/16";
  f.put(keys::kNetwork, net);
  f.put(keys::engine_settings("redis"), model::EngineSettings{"redis:7"});
  f.put(keys::server("10.0.0.1:7070"), model::Server{"10.0.0.1:7070", ""});
  EXPECT_EQ(f.view.host("h1")->value.memory_bytes, 1 << 30);
  EXPECT_TRUE(f.view.host_settings("h1")->value.draining);
  EXPECT_EQ(f.view.network()->value.subnet, "10.1.0.0/16");
  EXPECT_EQ(f.view.engine_settings("redis")->value.image, "redis:7");
  EXPECT_EQ(f.view.servers().size(), 1u);
  f.erase(keys::host("h1"));
  f.erase(keys::kNetwork);
  EXPECT_EQ(f.view.host("h1"), nullptr);
  EXPECT_NE(f.view.host_settings("h1"), nullptr);  // settings outlive the registration
  EXPECT_EQ(f.view.network(), nullptr);
}

TEST(View, AMalformedValueIsLeftOutWithoutThrowing) {
  Feed f;
  f.put(keys::database("d1"), database("d1", "orders"));
  f.put(keys::allocation("h1", "d1", 0), allocation("d1", 0, "h1", model::Role::primary));
  // Garbage, JSON of the wrong shape, a field of the wrong type: none throws out of the view.
  EXPECT_NO_THROW(f.put_raw(keys::database("d1"), "{not json"));
  EXPECT_NO_THROW(f.put_raw(keys::allocation("h1", "d1", 0), R"({"n":"zero"})"));
  EXPECT_NO_THROW(f.put_raw(keys::status("h1", "d1", 0), "[1,2]"));
  EXPECT_NO_THROW(f.put_raw(keys::kStatus + "h1/d1/x", "{}"));
  EXPECT_NO_THROW(f.put_raw(keys::kStatus + "d1/0", "{}"));  // the layout before hosts: ignored
  EXPECT_NO_THROW(f.put_raw(keys::kNetwork, "null"));
  // The bad keys' old records are gone (never older than etcd), the rest is read.
  EXPECT_EQ(f.view.database("d1"), nullptr);
  EXPECT_EQ(f.view.database_named("default", "orders"), nullptr);
  EXPECT_TRUE(f.view.allocations_of("d1").empty());
  EXPECT_TRUE(f.view.allocations_on("h1").empty());
  EXPECT_EQ(f.view.network(), nullptr);
  EXPECT_TRUE(f.view.statuses().empty());
  // An unknown enum string is not malformed: it reads as the enum's fallback.
  f.put_raw(keys::status("h1", "d1", 1), R"({"state":"hibernating","role":"leader"})");
  ASSERT_NE(f.view.status("d1", 1), nullptr);
  EXPECT_EQ(f.view.status("d1", 1)->value.state, model::InstanceState::none);
  EXPECT_EQ(f.view.status("d1", 1)->value.role, model::Role::none);
  f.put(keys::database("d2"), database("d2", "fine"));
  EXPECT_EQ(f.view.database_named("default", "fine")->value.id, "d2");
}

TEST(View, ResetReplacesEverything) {
  Feed f;
  f.put(keys::database("d1"), database("d1", "orders"));
  f.put(keys::allocation("h1", "d1", 0), allocation("d1", 0, "h1"));
  store::Items items;
  items[keys::database("d2")] = {
      keys::database("d2"), model::dump(database("d2", "carts")), 1, 7, 1, 0};
  f.view.reset(items);
  EXPECT_EQ(f.view.database("d1"), nullptr);
  EXPECT_TRUE(f.view.allocations_on("h1").empty());
  EXPECT_EQ(f.view.database_named("default", "carts")->mod_revision, 7);
}

}  // namespace
}  // namespace berth::state
