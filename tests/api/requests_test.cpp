// The typed requests: each field's rule and message, shared by create, update and
// restore-to-new; what is accepted comes out typed.
#include "api/requests.hpp"

#include <gtest/gtest.h>

#include "engines/engine.hpp"

namespace berth::api {
namespace {

using nlohmann::json;

struct Case {
  json body;
  int status;           // 0: accepted
  std::string message;  // the start of the error
};

void expect(const Invalid& got, const Case& c) {
  EXPECT_EQ(got.status, c.status) << c.body.dump() << ": " << got.message;
  EXPECT_EQ(got.message.substr(0, c.message.size()), c.message) << c.body.dump();
}

TEST(Requests, CreateChecksEveryFieldOnce) {
  Case cases[] = {
      {json::array(), 400, "body: expected a JSON object"},
      {{{"engine", "redis"}, {"memory_mb", 64}}, 422, "name: required"},
      {{{"name", "Bad"}, {"engine", "redis"}, {"memory_mb", 64}}, 422, "name: must match"},
      {{{"name", 7}, {"engine", "redis"}, {"memory_mb", 64}}, 422, "name: must match"},
      {{{"name", "a"}, {"memory_mb", 64}}, 422, "engine: required (one of: "},
      {{{"name", "a"}, {"engine", "mongo"}, {"memory_mb", 64}},
       422,
       "engine: unknown engine 'mongo'"},
      {{{"name", "a"}, {"engine", "redis"}}, 422, "memory_mb: required"},
      {{{"name", "a"}, {"engine", "redis"}, {"memory_mb", "64"}},
       422,
       "memory_mb: must be an integer (MiB)"},
      {{{"name", "a"}, {"engine", "redis"}, {"memory_mb", 16}},
       422,
       "memory_mb: at least 32 MiB, got 16"},
      {{{"name", "a"}, {"engine", "tarantool"}, {"memory_mb", 32}},
       422,
       "memory_mb: at least 64 MiB, got 32"},
      {{{"name", "a"}, {"engine", "redis"}, {"memory_mb", 64}, {"password", "short"}},
       422,
       "password: 8 to 128 printable characters"},
      {{{"name", "a"}, {"engine", "redis"}, {"memory_mb", 64}, {"password", "with space"}},
       422,
       "password: 8 to 128"},
      {{{"name", "a"}, {"engine", "redis"}, {"memory_mb", 64}, {"replicas", 5}},
       422,
       "replicas: must be an integer from 0 to 4"},
      {{{"name", "a"}, {"engine", "redis"}, {"memory_mb", 64}, {"replicas", -1}},
       422,
       "replicas: must be an integer from 0 to 4"},
      {{{"name", "a"}, {"engine", "memcached"}, {"memory_mb", 64}, {"replicas", 1}},
       422,
       "replicas: memcached has no replication (replicas must be 0)"},
      {{{"name", "a"}, {"engine", "redis"}, {"memory_mb", 64}, {"constraints", "zone=a"}},
       422,
       "constraints: must be an object"},
      {{{"name", "a"}, {"engine", "redis"}, {"memory_mb", 64}, {"constraints", {{"zone", 1}}}},
       422,
       "constraints: 'zone' must be a string"},
      {{{"name", "a"}, {"engine", "redis"}, {"memory_mb", 64}}, 0, ""},
      {{{"name", "a"}, {"engine", "redis"}, {"memory_mb", 64}, {"password", nullptr}}, 0, ""},
  };
  for (auto& c : cases) {
    CreateRequest request;
    expect(parse_create(c.body, &request), c);
  }
  CreateRequest request;
  json body = {{"name", "cache"}, {"engine", "redis"},       {"memory_mb", 128},
               {"replicas", 2},   {"password", "secret-pw"}, {"constraints", {{"zone", "a"}}}};
  ASSERT_FALSE(parse_create(body, &request));
  EXPECT_EQ(request.name, "cache");
  EXPECT_EQ(request.engine->name(), "redis");
  EXPECT_EQ(request.memory_mb, 128);
  EXPECT_EQ(request.replicas, 2);
  EXPECT_EQ(request.password, "secret-pw");
  EXPECT_EQ(request.constraints, (std::map<std::string, std::string>{{"zone", "a"}}));
}

TEST(Requests, UpdateTakesOnlyWhatIsGiven) {
  Case cases[] = {
      {json::object(), 422, "memory_mb: required (MiB), or replicas"},
      {{{"name", "other"}}, 422, "memory_mb: required (MiB), or replicas"},
      {{{"memory_mb", 8}}, 422, "memory_mb: at least 32 MiB, got 8"},
      {{{"memory_mb", 1.5}}, 422, "memory_mb: must be an integer (MiB)"},
      {{{"replicas", 9}}, 422, "replicas: must be an integer from 0 to 4"},
      {{{"backup_schedule", 3}}, 422, "backup_schedule: must be a cron string"},
      {{{"backup_schedule", "not cron"}}, 422, "backup_schedule: "},
      {{{"backup_keep", 0}}, 422, "backup_keep: must be an integer from 1 to 1000"},
      {{{"backup_keep", 1001}}, 422, "backup_keep: must be an integer from 1 to 1000"},
      {{{"backup_verify", "yes"}}, 422, "backup_verify: must be true or false"},
      {{{"backup_schedule", ""}}, 0, ""},
      {{{"memory_mb", 256}, {"replicas", 0}}, 0, ""},
  };
  auto& redis = *engines::find_engine("redis");
  for (auto& c : cases) {
    UpdateRequest request;
    expect(parse_update(c.body, redis, &request), c);
  }
  UpdateRequest request;
  ASSERT_FALSE(parse_update({{"replicas", 1}, {"backup_keep", 3}}, redis, &request));
  EXPECT_EQ(request.replicas, 1);
  EXPECT_EQ(request.backup_keep, 3);
  EXPECT_FALSE(request.memory_mb);
  EXPECT_FALSE(request.backup_schedule);
  EXPECT_FALSE(request.backup_verify);
  auto& memcached = *engines::find_engine("memcached");
  expect(parse_update({{"replicas", 1}}, memcached, &request),
         {{}, 422, "replicas: memcached has no replication"});
}

TEST(Requests, RestoreToNewIsACreateOfTheBackupsEngine) {
  Case cases[] = {
      {json::object(), 422, "to: required (the new database's name)"},
      {{{"to", 5}}, 422, "to: required"},
      {{{"to", "Copy"}}, 422, "name: must match"},
      {{{"to", "copy"}, {"memory_mb", "big"}}, 422, "memory_mb: must be an integer (MiB)"},
      {{{"to", "copy"}, {"memory_mb", 8}}, 422, "memory_mb: at least 32 MiB"},
      {{{"to", "copy"}, {"replicas", 7}}, 422, "replicas: must be an integer from 0 to 4"},
      {{{"to", "copy"}}, 0, ""},
  };
  for (auto& c : cases) {
    CreateRequest request;
    expect(parse_restore_to_new(c.body, "redis", 128, &request), c);
  }
  CreateRequest request;
  ASSERT_FALSE(parse_restore_to_new({{"to", "copy"}}, "redis", 128, &request));
  EXPECT_EQ(request.name, "copy");
  EXPECT_EQ(request.engine->name(), "redis");
  EXPECT_EQ(request.memory_mb, 128);  // the original's
  EXPECT_EQ(request.replicas, 0);
  ASSERT_FALSE(parse_restore_to_new({{"to", "copy"}}, "redis", 32, &request));
  EXPECT_EQ(request.memory_mb, 64);  // at least 64
  ASSERT_FALSE(parse_restore_to_new({{"to", "copy"}, {"memory_mb", 512}, {"replicas", 1}}, "redis",
                                    32, &request));
  EXPECT_EQ(request.memory_mb, 512);
  EXPECT_EQ(request.replicas, 1);
  // The rest is the backup's: a password or another engine in the body changes nothing.
  ASSERT_FALSE(parse_restore_to_new({{"to", "copy"}, {"engine", "memcached"}, {"password", 1}},
                                    "redis", 64, &request));
  EXPECT_EQ(request.engine->name(), "redis");
  EXPECT_FALSE(request.password);
  expect(parse_restore_to_new({{"to", "copy"}}, "gone", 64, &request),
         {{}, 422, "engine: unknown engine 'gone'"});
}

}  // namespace
}  // namespace berth::api
