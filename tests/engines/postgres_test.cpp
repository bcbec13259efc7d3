// PostgreSQL's pure parts: settings made from a memory limit, what a probe row says, and the
// quoting of what goes into SQL.
#include "engines/postgres/postgres.hpp"

#include <gtest/gtest.h>

#include <map>

#include "engines/postgres/pq.hpp"

namespace berth::engines {
namespace {

std::map<std::string, std::string> settings_of(int64_t memory_mb) {
  auto list = PostgresEngine::settings(memory_mb);
  return {list.begin(), list.end()};
}

TEST(Postgres, MemorySettingsComeFromTheLimit) {
  auto small = settings_of(128);
  EXPECT_EQ(small["shared_buffers"], "32MB");
  EXPECT_EQ(small["effective_cache_size"], "96MB");
  EXPECT_EQ(small["max_connections"], "32");
  EXPECT_EQ(small["work_mem"], "1536kB");  // (128 - 32) MB for 2 x 32 connections
  auto large = settings_of(4096);
  EXPECT_EQ(large["shared_buffers"], "1024MB");
  EXPECT_EQ(large["max_connections"], "100");
  EXPECT_EQ(large["maintenance_work_mem"], "256MB");
  EXPECT_EQ(large["jit"], "off");  // the image has no LLVM
  EXPECT_EQ(large["unix_socket_directories"], "");
}

TEST(Postgres, AProbeRowGivesRoleFenceAndCounters) {
  auto primary = PostgresEngine::read_probe({{"f", "off", "3", "1200", "22151624"}});
  EXPECT_TRUE(primary.healthy);
  EXPECT_EQ(primary.role, "primary");
  EXPECT_FALSE(primary.writes_paused);
  EXPECT_EQ(primary.connections, 3);
  EXPECT_EQ(primary.operations, 1200);
  EXPECT_EQ(primary.offset, 22151624);
  auto fenced = PostgresEngine::read_probe({{"f", "on", "0", "0", std::nullopt}});
  EXPECT_TRUE(fenced.writes_paused);
  EXPECT_EQ(fenced.offset, 0);
  EXPECT_EQ(PostgresEngine::read_probe({{"t", "on", "1", "x", "5"}}).role, "replica");
  EXPECT_FALSE(PostgresEngine::read_probe({}).healthy);
  EXPECT_FALSE(PostgresEngine::read_probe({{"f", "off"}}).healthy);
}

TEST(Postgres, TheFirstStartMakesTheNamedDatabaseAndNoPasswordIsOnTheCommandLine) {
  PostgresEngine engine;
  model::Allocation a;
  a.database_id = "a49ad7d5d02f";
  a.database_name = "orders-eu";
  a.port = 5432;
  a.memory_mb = 256;
  a.password = "s3cret";
  auto spec = engine.container_spec(a);
  ASSERT_EQ(spec.cmd.size(), 3u);
  EXPECT_NE(spec.cmd[2].find("CREATE DATABASE \"orders-eu\""), std::string::npos);
  EXPECT_NE(spec.cmd[2].find("--pwfile=/run/berth/password"), std::string::npos);
  EXPECT_NE(spec.cmd[2].find("-c shared_buffers='64MB'"), std::string::npos);
  EXPECT_EQ(spec.cmd[2].find("s3cret"), std::string::npos);
  EXPECT_EQ(engine.connect_command("10.0.0.5", 5432, "pw", "orders-eu"),
            "psql postgresql://berth:pw@10.0.0.5:5432/orders-eu");
}

TEST(Pq, LiteralsAndIdentifiersAreQuotedWhole) {
  EXPECT_EQ(pg::literal("it's"), "'it''s'");
  EXPECT_EQ(pg::literal("a\\b"), "'a\\b'");  // standard_conforming_strings: as is
  EXPECT_EQ(pg::identifier("we\"ird"), "\"we\"\"ird\"");
}

}  // namespace
}  // namespace berth::engines
