// What a restore checks before it touches anything: the engine, the memory, the version.
#include <gtest/gtest.h>

#include "api/tasks.hpp"
#include "engines/engine.hpp"

namespace berth::api {
namespace {

TEST(RestoreFits, VersionsCompareNumberByNumber) {
  EXPECT_TRUE(newer_version("7.0.15", "7.0.9"));
  EXPECT_TRUE(newer_version("7.10", "7.9.9"));
  EXPECT_TRUE(newer_version("2.11.1", "2.10.8"));
  EXPECT_FALSE(newer_version("7.0.9", "7.0.15"));
  EXPECT_FALSE(newer_version("7.0.15", "7.0.15"));
  EXPECT_FALSE(newer_version("", "7.0.15"));
}

TEST(RestoreFits, ABackupOfANewerEngineIsRefusedBeforeAnythingIsTouched) {
  auto* redis = engines::find_engine("redis");
  ASSERT_NE(redis, nullptr);
  model::Backup b;
  b.engine = "redis";
  b.memory_used_bytes = 1024;
  b.version = redis->version();
  EXPECT_FALSE(restore_fits(b, "redis", "cache", 64));
  b.version = "99.0.0";
  auto refused = restore_fits(b, "redis", "cache", 64);
  EXPECT_EQ(refused.status, 409);
  EXPECT_NE(refused.message.find("99.0.0"), std::string::npos) << refused.message;
  EXPECT_EQ(restore_fits(b, "tarantool", "cache", 64).status, 422);  // another engine first
}

}  // namespace
}  // namespace berth::api
