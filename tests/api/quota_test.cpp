#include "api/quota.hpp"

#include <gtest/gtest.h>

namespace berth::api {
namespace {

using store::WatchEvent;

struct State {
  state::View view;
  int64_t revision = 1;
  template <class T>
  void put(const std::string& key, const T& value) {
    store::KeyValue kv{key, model::dump(value), 1, ++revision, 1, 0};
    view.apply({WatchEvent{WatchEvent::Type::Put, kv}});
  }
  void database(const std::string& id, const std::string& project, int64_t mb, int replicas) {
    model::Database db;
    db.id = id;
    db.name = id;
    db.project = project;
    db.memory_mb = mb;
    db.replicas = replicas;
    put(model::keys::database(id), db);
  }
};

TEST(Quota, EveryInstanceCountsAndOtherProjectsDoNot) {
  State s;
  s.put(model::keys::project("team"), model::Project{"team", 1024, 3, ""});
  s.database("a", "team", 256, 1);    // 512 MiB: a primary and a replica
  s.database("b", "team", 128, 0);    // 128
  s.database("c", "other", 4096, 0);  // not the team's
  auto use = project_use(s.view, "team");
  EXPECT_EQ(use.databases, 2);
  EXPECT_EQ(use.memory_mb, 640);
  EXPECT_FALSE(quota_refusal(s.view, "team", 384, 1));  // exactly the quota
  auto memory = quota_refusal(s.view, "team", 385, 1);
  ASSERT_TRUE(memory);
  EXPECT_EQ(*memory,
            "memory_quota: project team uses 640 MiB of its quota of 1024 MiB; this needs 385 MiB "
            "more");
  EXPECT_FALSE(quota_refusal(s.view, "team", -512, 0));  // shrinking is always allowed
}

TEST(Quota, TheDatabaseQuotaCountsDatabasesAndNoQuotaIsNone) {
  State s;
  s.put(model::keys::project("team"), model::Project{"team", 0, 1, ""});
  s.database("a", "team", 64, 0);
  auto refused = quota_refusal(s.view, "team", 64, 1);
  ASSERT_TRUE(refused);
  EXPECT_EQ(*refused, "database_quota: project team has 1 databases of its quota of 1");
  EXPECT_FALSE(quota_refusal(s.view, "team", 100000, 0));  // a resize: no memory quota
  EXPECT_FALSE(quota_refusal(s.view, "nosuch", 100000, 100));
}

}  // namespace
}  // namespace berth::api
