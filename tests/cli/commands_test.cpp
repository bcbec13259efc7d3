#include "cli/commands.hpp"

#include <gtest/gtest.h>

#include <sstream>

#include "cli/cli.hpp"
#include "client/fake_api.hpp"

namespace berth::cli {
namespace {

using client::json;
using test::FakeApi;

json database(const std::string& name) {
  return {{"id", "d-" + name},
          {"name", name},
          {"engine", "redis"},
          {"version", "7.2"},
          {"state", "running"},
          {"address", "10.77.0.9"},
          {"port", 6379},
          {"memory_mb", 128},
          {"usable_memory_mb", 53},
          {"created_at", "2026-11-27T10:00:00Z"},
          {"instances", {{{"n", 0}, {"host", "h1"}, {"role", "primary"}}}}};
}

// The fake answers for `restore b-1 --to copy`: the 202 with the created database (and its
// password), the task as it ends, and the database as it is afterwards (no password).
void restore_to_new_answers(FakeApi& api, const std::string& end_state = "done") {
  auto created = database("copy");
  created["state"] = "running";
  created["password"] = "s3cret";
  created["connect"] = "redis-cli -h 10.77.0.9 -a s3cret";
  created["notes"] = {"keep the password"};
  api.on("POST /v1/backups/b-1/restore", 202,
         {{"id", "t-1"}, {"kind", "restore"}, {"state", "pending"}, {"database", created}});
  api.on("GET /v1/tasks/t-1", 200,
         {{"id", "t-1"}, {"state", end_state}, {"revision", 5}, {"log", {"restored backup"}}});
  api.on("GET /v1/databases/copy", 200, database("copy"));
}

struct Printed {
  std::ostringstream out, err;
  Output output(bool json = false) { return Output{out, err, json}; }
};

TEST(CommandsTest, RestoreToNewPrintsTheNewDatabaseLikeRun) {
  FakeApi api;
  restore_to_new_answers(api);
  client::Client c(api.url(), "t");
  Printed run;
  EXPECT_EQ(restore(c, {"b-1", "", "copy"}, run.output()), 0);
  auto text = run.out.str();
  EXPECT_NE(text.find("restored backup\n"), std::string::npos) << text;
  EXPECT_NE(text.find("copy restored from b-1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("copy is running (redis 7.2, 128 MiB, 53 MiB of it for data) on h1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("  address:  10.77.0.9:6379\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  password: s3cret\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  connect:  redis-cli -h 10.77.0.9 -a s3cret\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  note:     keep the password\n"), std::string::npos) << text;
  EXPECT_EQ(run.err.str(), "");
}

TEST(CommandsTest, RestoreToNewJsonIsTheTaskWithTheDatabaseAndItsPassword) {
  FakeApi api;
  restore_to_new_answers(api);
  client::Client c(api.url(), "t");
  Printed run;
  EXPECT_EQ(restore(c, {"b-1", "", "copy"}, run.output(true)), 0);
  auto printed = json::parse(run.out.str());
  EXPECT_EQ(printed["id"], "t-1");
  EXPECT_EQ(printed["state"], "done");
  EXPECT_EQ(printed["database"]["password"], "s3cret");
  EXPECT_EQ(printed["database"]["address"], "10.77.0.9");
  EXPECT_EQ(printed["database"]["port"], 6379);
}

TEST(CommandsTest, AFailedRestoreToNewStillShowsThePasswordAndExits1) {
  FakeApi api;
  restore_to_new_answers(api, "failed");
  client::Client c(api.url(), "t");
  Printed run;
  EXPECT_EQ(restore(c, {"b-1", "", "copy"}, run.output()), 1);
  EXPECT_NE(run.out.str().find("  password: s3cret\n"), std::string::npos);
  EXPECT_EQ(run.out.str().find("restored from"), std::string::npos);
  EXPECT_EQ(run.err.str().rfind("restore failed: ", 0), 0u) << run.err.str();
}

TEST(CommandsTest, RestoreToNewDetachedKeepsTheIdAloneOnStdout) {
  FakeApi api;
  restore_to_new_answers(api);
  client::Client c(api.url(), "t");
  Printed run;
  EXPECT_EQ(restore(c, {"b-1", "", "copy", true}, run.output()), 0);
  EXPECT_EQ(run.out.str(), "t-1\n");
  EXPECT_NE(run.err.str().find("  password: s3cret\n"), std::string::npos);
  Printed js;
  EXPECT_EQ(restore(c, {"b-1", "", "copy", true}, js.output(true)), 0);
  EXPECT_EQ(json::parse(js.out.str())["database"]["password"], "s3cret");
}

TEST(CommandsTest, RestoreInPlaceSaysWhatWasRestored) {
  FakeApi api;
  api.on("POST /v1/databases/big/restore", 202, {{"id", "t-2"}, {"state", "pending"}});
  api.on("GET /v1/tasks/t-2", 200, {{"id", "t-2"}, {"state", "done"}, {"revision", 3}});
  client::Client c(api.url(), "t");
  Printed run;
  EXPECT_EQ(restore(c, {"big", "b-1"}, run.output()), 0);
  EXPECT_EQ(run.out.str(), "big restored from b-1\n");
  EXPECT_EQ(json::parse(api.seen()[0].body), json({{"backup", "b-1"}}));
}

TEST(CommandsTest, RestoreRefusesHalfSaidArgumentsBeforeAsking) {
  FakeApi api;
  client::Client c(api.url(), "t");
  Printed run;
  EXPECT_THROW(restore(c, {"b-1", "extra", "copy"}, run.output()), UsageError);
  EXPECT_THROW(restore(c, {"big"}, run.output()), UsageError);
  EXPECT_TRUE(api.seen().empty());
}

TEST(CommandsTest, RunPrintsTheDatabaseAndExits1WhenItIsNotYetHealthy) {
  FakeApi api;
  auto created = database("cache");
  created["password"] = "pw";
  created["connect"] = "redis-cli";
  api.on("POST /v1/databases", 201, created);
  auto starting = created;
  starting["instances"][0]["state"] = "starting";
  starting["instances"][0]["message"] = "network berth: Pool overlaps with other one";
  api.on("POST /v1/databases", 202, starting);
  client::Client c(api.url(), "t");
  RunArgs args;
  args.engine = "redis";
  args.name = "cache";
  args.memory = "1G";
  Printed run;
  EXPECT_EQ(run_database(c, args, run.output()), 0);
  EXPECT_EQ(run.out.str(),
            "cache is running (redis 7.2, 128 MiB, 53 MiB of it for data) on h1\n"
            "  id:       d-cache\n"
            "  address:  10.77.0.9:6379\n"
            "  password: pw\n"
            "  connect:  redis-cli\n");
  EXPECT_EQ(json::parse(api.last().body)["memory_mb"], 1024);
  Printed again;
  EXPECT_EQ(run_database(c, args, again.output(true)), 1);
  EXPECT_EQ(json::parse(again.out.str()), starting);
  // The agent's own words reach the user, on one line.
  EXPECT_EQ(again.err.str(),
            "berth: cache was created but is not healthy yet; instance 0: network berth: Pool "
            "overlaps with other one; see `berth inspect cache`\n");
}

TEST(CommandsTest, RunRefusesABadConstraintWithoutAsking) {
  FakeApi api;
  client::Client c(api.url(), "t");
  RunArgs args;
  args.engine = "redis";
  args.name = "cache";
  args.constraints = {"=a"};
  Printed run;
  EXPECT_THROW(run_database(c, args, run.output()), UsageError);
  EXPECT_TRUE(api.seen().empty());
}

TEST(CommandsTest, PsIsATableOfTheDatabases) {
  FakeApi api;
  api.on("GET /v1/databases", 200, json::array({database("cache")}));
  client::Client c(api.url(), "t");
  Printed run;
  list_databases(c, run.output());
  std::istringstream lines(run.out.str());
  std::string header, row;
  std::getline(lines, header);
  std::getline(lines, row);
  EXPECT_EQ(header.substr(0, 14), "ID       NAME ");
  EXPECT_EQ(row.substr(0, 27), "d-cache  cache  redis   128");
}

// The whole path a user takes: CLI11 parsing, the connection flags, the client, the exit code.
struct CliRun {
  int exit_code = 0;
  void parse(std::vector<std::string> args) {
    CLI::App app("berth");
    add_client_commands(app, &exit_code);
    std::reverse(args.begin(), args.end());
    app.parse(args);
  }
};

TEST(CommandsTest, NetworkSetPassesACidrExclusionToTheServer) {
  FakeApi api;
  api.on("PUT /v1/network", 200, {{"subnet", "10.88.0.0/16"}});
  CliRun cli;
  testing::internal::CaptureStdout();
  cli.parse({"network", "set", "--subnet", "10.88.0.0/16", "--gateway", "10.88.0.1", "--exclude",
             "10.88.0.0/24", "--server", api.url(), "--token", "t"});
  auto printed = testing::internal::GetCapturedStdout();
  EXPECT_EQ(json::parse(printed)["subnet"], "10.88.0.0/16");
  EXPECT_EQ(json::parse(api.last().body)["exclude"], json({"10.88.0.0/24"}));
  EXPECT_EQ(cli.exit_code, 0);
}

TEST(CommandsTest, ARefusalIsAUsageErrorWithTheApisTextAndAFailureIsNot) {
  FakeApi api;
  api.on("DELETE /v1/databases/nosuch", 404, {{"error", "database: no database 'nosuch'"}});
  api.on("GET /v1/hosts", 500, {{"error", "etcd: the store does not answer"}});
  CliRun cli;
  try {
    cli.parse({"rm", "nosuch", "--server", api.url(), "--token", "t"});
    FAIL() << "no exception";
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(), "database: no database 'nosuch'");
  }
  try {
    cli.parse({"hosts", "--server", api.url(), "--token", "t"});
    FAIL() << "no exception";
  } catch (const UsageError&) {
    FAIL() << "a server failure is not the user's input";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "etcd: the store does not answer");
  }
}

}  // namespace
}  // namespace berth::cli
