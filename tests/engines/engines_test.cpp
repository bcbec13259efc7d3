// The engines' pure parts: msgpack values for iproto, the chap-sha1 scramble, stats parsing
// and the generated Tarantool script.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "engines/memcached/memcached.hpp"
#include "engines/memcached/replies.hpp"
#include "engines/redis/redis.hpp"
#include "engines/tarantool/iproto.hpp"
#include "engines/tarantool/tarantool.hpp"
#include "util/encoding.hpp"

namespace berth::engines {
namespace {

TEST(Iproto, ValuesSurviveEncodeAndDecode) {
  iproto::Value array{.kind = iproto::Value::Kind::Array};
  array.items = {iproto::Value::of(true), iproto::Value::of(int64_t{-5}),
                 iproto::Value::of(int64_t{1} << 40), iproto::Value::of(std::string("peer"))};
  std::string bytes = iproto::encode(array);
  const char* p = bytes.data();
  auto back = iproto::decode(p, bytes.data() + bytes.size());
  EXPECT_EQ(p, bytes.data() + bytes.size());
  ASSERT_EQ(back.items.size(), 4u);
  EXPECT_TRUE(back[0].as_bool());
  EXPECT_EQ(back[1].as_int(), -5);
  EXPECT_EQ(back[2].as_int(), int64_t{1} << 40);
  EXPECT_EQ(back[3].string, "peer");
  EXPECT_EQ(back[9].kind, iproto::Value::Kind::Nil);  // out of range reads as nil
}

TEST(Iproto, TruncatedInputIsAnErrorNotACrash) {
  std::string bytes = iproto::encode(iproto::Value::of(std::string("a longer string")));
  const char* p = bytes.data();
  EXPECT_THROW(iproto::decode(p, bytes.data() + 3), std::runtime_error);
}

TEST(Iproto, ScrambleIsShaOneOfSaltAndPassword) {
  // A greeting: 64 bytes of banner, then the salt in base64, padded to 128 bytes.
  std::string salt(32, 'x');
  std::string greeting(63, ' ');
  greeting.push_back('\n');
  greeting.append(util::base64_encode(salt));
  greeting.resize(127, ' ');
  greeting += "\n";
  auto a = iproto::scramble(greeting, "secret");
  EXPECT_EQ(a.size(), 20u);
  EXPECT_EQ(a, iproto::scramble(greeting, "secret"));
  EXPECT_NE(a, iproto::scramble(greeting, "Secret"));
}

TEST(Memcached, StatsAreParsedByName) {
  auto stats = memcached::parse_stats(
      "STAT version 1.6.18\r\nSTAT curr_connections 3\r\nSTAT bytes 1024\r\nEND\r\n");
  EXPECT_EQ(stats.at("version"), "1.6.18");
  EXPECT_EQ(stats.at("curr_connections"), "3");
  EXPECT_EQ(stats.size(), 3u);
}

TEST(Tarantool, ScriptReadsThePasswordFromItsFileAndFollowsThePrimary) {
  model::Allocation a;
  a.port = 3301;
  a.memory_mb = 100;
  a.password = "pa\"ss\\word";
  a.role = model::Role::replica;
  a.primary_ip = "10.0.0.1";
  auto script = TarantoolEngine::init_script(a);
  // The password is in its secret file only, read by the script; the primary's URI is made
  // in Lua from it.
  EXPECT_EQ(script.find("pa\"ss"), std::string::npos) << script;
  EXPECT_NE(script.find(R"(password = secret("/run/berth/password"))"), std::string::npos);
  EXPECT_NE(script.find(R"(primary = "10.0.0.1:3301")"), std::string::npos) << script;
  TarantoolEngine engine;
  auto files = engine.secret_files(a);
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].path, "/run/berth/password");
  EXPECT_EQ(files[0].content, a.password);
  EXPECT_EQ(files[0].mode, 0600);
  EXPECT_NE(script.find("memtx_memory = 73400320"), std::string::npos);
}

TEST(Engines, NoContainerSpecHoldsThePassword) {
  // docker inspect shows the command, its arguments and the environment: none may hold it.
  model::Allocation a;
  a.database_id = "a49ad7d5d02f";
  a.port = 7000;
  a.memory_mb = 256;
  a.password = "s3cret-Pa55word-XYZ";
  for (auto* engine : all_engines()) {
    a.engine = engine->name();
    auto spec = engine->container_spec(a);
    for (auto& arg : spec.cmd) EXPECT_EQ(arg.find(a.password), std::string::npos) << a.engine;
    for (auto& env : spec.env) EXPECT_EQ(env.find(a.password), std::string::npos) << a.engine;
    for (auto& [k, v] : spec.labels) EXPECT_EQ(v.find(a.password), std::string::npos) << a.engine;
    bool in_a_secret_file = false;
    for (auto& f : engine->secret_files(a)) {
      EXPECT_TRUE(f.path.starts_with(kSecretDir + "/")) << f.path;
      EXPECT_EQ(f.mode, 0600) << f.path;
      in_a_secret_file |= f.content.find(a.password) != std::string::npos;
    }
    EXPECT_TRUE(in_a_secret_file) << a.engine << " reads its password from nowhere";
  }
}

TEST(Engines, EveryContainerRunsAsTheEngineUserOnAReadOnlyRoot) {
  model::Allocation a;
  a.database_id = "a49ad7d5d02f";
  a.memory_mb = 256;
  a.password = "s3cret-Pa55word-XYZ";
  for (auto* engine : all_engines()) {
    a.engine = engine->name();
    auto spec = engine->container_spec(a);
    EXPECT_EQ(spec.user, "10001:10001") << a.engine;
    EXPECT_TRUE(spec.read_only_rootfs) << a.engine;
    EXPECT_TRUE(spec.drop_capabilities && spec.no_new_privileges) << a.engine;
    EXPECT_GT(spec.pids_limit, 0) << a.engine;
    // Its secrets in a volume of its own (written while the root is read-only), the image's
    // folder there the engine user's, as is every secret file.
    EXPECT_EQ(spec.scratch_volumes, std::vector<std::string>{kSecretDir}) << a.engine;
    auto recipe = engine->image_recipe();
    EXPECT_NE(
        std::find(recipe.engine_directories.begin(), recipe.engine_directories.end(), kSecretDir),
        recipe.engine_directories.end())
        << a.engine;
    for (auto& [volume, path] : spec.volumes)
      EXPECT_NE(std::find(recipe.engine_directories.begin(), recipe.engine_directories.end(), path),
                recipe.engine_directories.end())
          << a.engine << " cannot write " << path;
    for (auto& f : engine->secret_files(a)) EXPECT_EQ(f.uid, kEngineUid) << f.path;
    // The tar the agent puts into that volume names the files inside it.
    auto files = read_tar(secrets_tar(engine->secret_files(a)));
    for (auto& [path, content] : files) EXPECT_EQ(path.find('/'), std::string::npos) << path;
  }
  EXPECT_THROW(secrets_tar({{"/etc/passwd", "x", 0600}}), std::logic_error);
}

TEST(Tarantool, AnInstanceNumberKeepsItsUuidAcrossReCreations) {
  auto uuid = TarantoolEngine::instance_uuid("a49ad7d5d02f", 1);
  EXPECT_EQ(uuid, TarantoolEngine::instance_uuid("a49ad7d5d02f", 1));
  EXPECT_NE(uuid, TarantoolEngine::instance_uuid("a49ad7d5d02f", 0));
  EXPECT_NE(uuid, TarantoolEngine::instance_uuid("b49ad7d5d02f", 1));
  ASSERT_EQ(uuid.size(), 36u);
  for (size_t i : {8, 13, 18, 23}) EXPECT_EQ(uuid[i], '-') << uuid;
  EXPECT_EQ(uuid[14], '4') << uuid;
  EXPECT_EQ(uuid[19], '8') << uuid;
  model::Allocation a;
  a.database_id = "a49ad7d5d02f";
  a.n = 1;
  EXPECT_NE(TarantoolEngine::init_script(a).find("uuid = \"" + uuid + "\""), std::string::npos);
}

TEST(Tarantool, TheScriptIsLuaThatTarantoolLoads) {
  // Only compiled, not run: a syntax error would otherwise show only as a container that exits.
  model::Allocation a;
  a.password = "pw";
  auto path = std::filesystem::temp_directory_path() / "berth-init-script-test.lua";
  std::ofstream(path) << TarantoolEngine::init_script(a);
  std::string command = "tarantool -e \"local f, e = loadfile('" + path.string() +
                        "') io.write(f and 'loaded' or e) os.exit(0)\" 2>&1";
  std::string out;
  if (FILE* p = ::popen(command.c_str(), "r")) {
    char buffer[512];
    while (size_t n = std::fread(buffer, 1, sizeof buffer, p)) out.append(buffer, n);
    ::pclose(p);
  }
  std::filesystem::remove(path);
  EXPECT_EQ(out, "loaded");
}

TEST(Redis, VerificationReadsTheKeyCountOrTheFailure) {
  RedisEngine redis;
  auto ok = redis.read_verification(
      0,
      "[offset 0] Checking RDB file dump.rdb\n[info] 100000 keys read\n[info] 0 expires\n"
      "\\o/ RDB looks OK! \\o/\n");
  EXPECT_TRUE(ok.ok);
  EXPECT_EQ(ok.message, "redis loads it: 100000 keys");
  auto bad = redis.read_verification(
      1, "--- RDB ERROR DETECTED ---\n[additional info] Reason: Wrong RDB checksum\n");
  EXPECT_FALSE(bad.ok);
  EXPECT_NE(bad.message.find("Wrong RDB checksum"), std::string::npos) << bad.message;
  EXPECT_EQ(redis.verify_command("/tmp"),
            (std::vector<std::string>{"/usr/bin/redis-check-rdb", "/tmp/dump.rdb"}));
}

}  // namespace
}  // namespace berth::engines

namespace berth::engines {
namespace {

void feed_all(RdbStream& rdb, const std::string& wire, size_t piece) {
  for (size_t at = 0; at < wire.size() && rdb.feed(std::string_view(wire).substr(at, piece));
       at += piece) {
  }
}

TEST(RdbStream, CountedPayloadAfterRepliesAndKeepAlives) {
  std::string got;
  std::string wire =
      "+OK\r\n+OK\r\n-ERR Unrecognized REPLCONF option\r\n+OK\r\n\n\n\n$11\r\nREDIS0011xy";
  for (size_t piece : {1, 3, 1000}) {
    got.clear();
    RdbStream r(4, [&](std::string_view p) { got.append(p); });
    feed_all(r, wire, piece);
    EXPECT_TRUE(r.done()) << piece;
    EXPECT_EQ(got, "REDIS0011xy") << piece;
  }
}

TEST(RdbStream, MarkedPayloadEndsWithItsMark) {
  std::string mark(40, 'm');
  mark[7] = 'Z';
  std::string body = "REDIS0011" + std::string(5000, 'd') + "mmmm";  // ends like a mark, is not
  std::string wire = "+OK\r\n+OK\r\n+OK\r\n+OK\r\n\n$EOF:" + mark + "\r\n" + body + mark;
  for (size_t piece : {1, 7, 39, 40, 41, 4096, 1 << 20}) {
    std::string got;
    RdbStream rdb(4, [&](std::string_view p) { got.append(p); });
    feed_all(rdb, wire, piece);
    EXPECT_TRUE(rdb.done()) << piece;
    EXPECT_EQ(got, body) << piece;
    EXPECT_EQ(rdb.payload_bytes(), int64_t(body.size()));
  }
}

TEST(RdbStream, RefusedAuthOrSyncIsAnError) {
  RdbStream refused(4, [](std::string_view) {});
  EXPECT_THROW(refused.feed("-WRONGPASS invalid username-password pair\r\n"), std::runtime_error);
  RdbStream busy(1, [](std::string_view) {});
  EXPECT_THROW(busy.feed("+OK\r\n-ERR Replica can't sync\r\n"), std::runtime_error);
}

TEST(RdbStream, NotDoneUntilEverythingArrived) {
  std::string got;
  RdbStream rdb(1, [&](std::string_view p) { got.append(p); });
  EXPECT_TRUE(rdb.feed("+OK\r\n$10\r\n12345"));
  EXPECT_FALSE(rdb.done());
  EXPECT_FALSE(rdb.feed("67890"));
  EXPECT_EQ(got, "1234567890");
}

}  // namespace
}  // namespace berth::engines
