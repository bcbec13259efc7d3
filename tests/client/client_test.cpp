#include "client/client.hpp"

#include <gtest/gtest.h>

#include "client/fake_api.hpp"

namespace berth::client {
namespace {

using test::FakeApi;

json a_database() {
  return {{"id", "d-1"},
          {"name", "cache"},
          {"engine", "redis"},
          {"version", "7.2"},
          {"state", "running"},
          {"address", "10.77.0.5"},
          {"port", 6379},
          {"memory_mb", 256},
          {"replicas", 1},
          {"created_at", "2026-11-27T10:00:00Z"},
          {"instances",
           {{{"n", 0}, {"host", "h1"}, {"role", "primary"}, {"memory_used_bytes", 1048576}},
            {{"n", 1}, {"host", "h2"}, {"role", "replica"}}}}};
}

TEST(ClientTest, ListsDatabasesAsTypedRecordsAndKeepsTheirJson) {
  FakeApi api;
  api.on("GET /v1/databases", 200, json::array({a_database()}));
  Client c(api.url(), "secret");
  auto dbs = c.databases().list();
  ASSERT_EQ(dbs.size(), 1u);
  EXPECT_EQ(dbs[0].name, "cache");
  EXPECT_EQ(dbs[0].port, 6379);
  EXPECT_EQ(dbs[0].memory_mb, 256);
  ASSERT_NE(dbs[0].primary(), nullptr);
  EXPECT_EQ(dbs[0].primary()->host, "h1");
  EXPECT_EQ(dbs[0].primary()->memory_used_bytes, 1048576);
  EXPECT_EQ(dbs[0].raw, a_database());
  EXPECT_EQ(api.last().authorization, "Bearer secret");
}

TEST(ClientTest, AcceptsAServerWithoutScheme) {
  FakeApi api;
  api.on("GET /v1/hosts", 200, json::array({{{"name", "h1"}, {"free_mb", 512}}}));
  Client c(api.url().substr(7), "t");
  EXPECT_EQ(c.hosts().list().at(0).free_mb, 512);
}

TEST(ClientTest, ARefusalCarriesTheStatusAndTheApisErrorText) {
  FakeApi api;
  api.on("GET /v1/databases/nosuch", 404,
         {{"error", "database: no database named or with id 'nosuch'"}});
  Client c(api.url(), "t");
  try {
    c.databases().get("nosuch");
    FAIL() << "no exception";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), 404);
    EXPECT_TRUE(e.refused());
    EXPECT_STREQ(e.what(), "database: no database named or with id 'nosuch'");
  }
}

TEST(ClientTest, AServerFailureIsNotARefusalAndAPlainBodyIsTheText) {
  FakeApi api;
  api.on_text("GET /v1/tasks", 503, "etcd is away");
  Client c(api.url(), "t");
  try {
    c.tasks().list();
    FAIL() << "no exception";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), 503);
    EXPECT_FALSE(e.refused());
    EXPECT_STREQ(e.what(), "etcd is away");
  }
}

TEST(ClientTest, NoServerIsAConnectErrorThatSaysSo) {
  Client c("http://127.0.0.1:1", "t");
  try {
    c.databases().list();
    FAIL() << "no exception";
  } catch (const ConnectError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot reach the berth server"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("refused"), std::string::npos) << e.what();
  }
}

TEST(ClientTest, CreateSaysWhetherTheDatabaseAnswersAndSendsTheSpec) {
  FakeApi api;
  api.on("POST /v1/databases", 201, a_database());
  api.on("POST /v1/databases", 202, a_database());
  Client c(api.url(), "t");
  DatabaseSpec spec{"cache", "redis", 512};
  spec.constraints["zone"] = "a";
  EXPECT_TRUE(c.databases().create(spec).ready);
  auto sent = json::parse(api.last().body);
  EXPECT_EQ(sent["memory_mb"], 512);
  EXPECT_EQ(sent["replicas"], 0);
  EXPECT_EQ(sent["constraints"]["zone"], "a");
  EXPECT_FALSE(sent.contains("password"));
  EXPECT_FALSE(c.databases().create(spec, false).ready);
  EXPECT_EQ(api.last().target, "/v1/databases?wait=false");
}

TEST(ClientTest, UpdateSendsOnlyWhatIsSet) {
  FakeApi api;
  api.on("PATCH /v1/databases/cache", 200, a_database());
  Client c(api.url(), "t");
  DatabaseUpdate update;
  update.backup_schedule = "";
  EXPECT_EQ(c.databases().update("cache", update).replicas, 1);
  EXPECT_EQ(json::parse(api.last().body), json({{"backup_schedule", ""}}));
}

TEST(ClientTest, RestoreToNewCarriesTheNewDatabaseWithItsPassword) {
  FakeApi api;
  auto created = a_database();
  created["name"] = "copy";
  created["password"] = "once";
  api.on("POST /v1/backups/b-1/restore", 202,
         {{"id", "t-9"}, {"kind", "restore"}, {"state", "pending"}, {"database", created}});
  Client c(api.url(), "t");
  auto r = c.backups().restore_to_new("b-1", "copy");
  EXPECT_EQ(r.task.id, "t-9");
  EXPECT_EQ(r.database.name, "copy");
  EXPECT_EQ(r.database.password, "once");
  EXPECT_EQ(json::parse(api.last().body), json({{"to", "copy"}}));
}

TEST(ClientTest, NetworkExclusionsGoAsWritten) {
  FakeApi api;
  api.on("PUT /v1/network", 200, {{"subnet", "10.88.0.0/16"}});
  Client c(api.url(), "t");
  NetworkSettings settings{"10.88.0.0/16", "10.88.0.1", {"10.88.0.0/24", "10.88.1.1-10.88.1.9"}};
  c.network().set(settings);
  auto sent = json::parse(api.last().body);
  EXPECT_EQ(sent["exclude"], json({"10.88.0.0/24", "10.88.1.1-10.88.1.9"}));
  EXPECT_EQ(sent["driver"], "bridge");
}

TEST(ClientTest, FollowingATaskLongPollsPastEachRevisionUntilItEnds) {
  FakeApi api;
  api.on("GET /v1/tasks/t-1", 200, {{"id", "t-1"}, {"state", "running"}, {"revision", 7}});
  api.on("GET /v1/tasks/t-1", 200,
         {{"id", "t-1"}, {"state", "done"}, {"revision", 9}, {"log", {"a", "b"}}});
  Client c(api.url(), "t");
  int seen = 0;
  auto t = c.tasks().follow("t-1", [&](const Task&) { ++seen; });
  EXPECT_EQ(t.state, "done");
  EXPECT_EQ(t.log, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(seen, 2);
  auto asked = api.seen();
  ASSERT_EQ(asked.size(), 2u);
  EXPECT_EQ(asked[0].target, "/v1/tasks/t-1?wait=30&revision=0");
  EXPECT_EQ(asked[1].target, "/v1/tasks/t-1?wait=30&revision=7");
}

TEST(ClientTest, FollowingEventsAsksAfterTheLastOneSeen) {
  FakeApi api;
  api.on("GET /v1/events", 200, {{"events", {{{"id", "e-1"}, {"kind", "created"}}}}});
  api.on("GET /v1/events", 200, {{"events", json::array()}});
  api.on("GET /v1/events", 410, {{"error", "enough"}});
  Client c(api.url(), "t");
  std::vector<std::string> kinds;
  EventQuery query;
  query.database = "cache";
  EXPECT_THROW(c.events().follow(query, [&](const Event& e) { kinds.push_back(e.kind); }),
               ApiError);
  EXPECT_EQ(kinds, std::vector<std::string>{"created"});
  auto asked = api.seen();
  ASSERT_EQ(asked.size(), 3u);
  EXPECT_EQ(asked[0].target, "/v1/events?limit=50&database=cache");
  EXPECT_EQ(asked[1].target, "/v1/events?limit=10000&database=cache&after=e-1&wait=30");
}

TEST(ClientTest, BackupDataIsTheBytesAsSent) {
  FakeApi api;
  api.on_text("GET /v1/backups/b-1/data", 200, std::string("\x00\x01tar", 5));
  Client c(api.url(), "t");
  EXPECT_EQ(c.backups().data("b-1"), std::string("\x00\x01tar", 5));
}

TEST(ClientTest, PathSegmentsAreEscaped) {
  FakeApi api;
  Client c(api.url(), "t");
  EXPECT_THROW(c.databases().get("a b/c"), ApiError);
  EXPECT_EQ(api.last().target, "/v1/databases/a%20b%2Fc");
}

}  // namespace
}  // namespace berth::client
