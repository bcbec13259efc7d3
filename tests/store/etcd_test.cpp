// The etcd client against a real etcd that the test starts.
#include "store/etcd.hpp"

#include <gtest/gtest.h>

#include <boost/asio.hpp>

#include "http/http.hpp"
#include "store/mirror.hpp"
#include "support/process.hpp"
#include "support/run.hpp"

namespace berth::store {
namespace {

// Runs one coroutine to completion on a fresh io_context.
using test::Executor;
using test::run;

class EtcdTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { etcd_ = new test::EtcdServer(); }
  static void TearDownTestSuite() { delete etcd_; }
  static test::EtcdServer* etcd_;
};
test::EtcdServer* EtcdTest::etcd_ = nullptr;

// An etcd of one member, stopped: nothing can commit, and the store says so; running, or
// merely out of reach, it does not.
TEST(EtcdQuorum, LostWhenTheMembersAreDownNotWhenUnknown) {
  test::EtcdServer etcd;
  run([&](Executor ex) -> boost::asio::awaitable<void> {
    EtcdStore s(ex, {etcd.endpoint()});
    EXPECT_FALSE(co_await s.quorum_lost()) << "members not learned yet: unsure";
    co_await s.learn_members();
    EXPECT_FALSE(co_await s.quorum_lost());
    etcd.stop();
    EXPECT_TRUE(co_await s.quorum_lost());
    etcd.start();
    EXPECT_FALSE(co_await s.quorum_lost());
  });
}

TEST_F(EtcdTest, PutGetPrefixDelete) {
  run([&](Executor ex) -> boost::asio::awaitable<void> {
    EtcdStore s(ex, {etcd_->endpoint()});
    co_await s.put("/t1/a", "1");
    co_await s.put("/t1/b", std::string("two\0bytes", 9));
    co_await s.put("/t10", "not under /t1/");
    auto r = co_await s.get_prefix("/t1/");
    EXPECT_EQ(r.kvs.size(), 2u);
    EXPECT_EQ(r.kvs[1].value, std::string("two\0bytes", 9));
    EXPECT_GT(r.revision, 0);
    auto one = co_await s.get("/t1/a");
    EXPECT_EQ(one.kvs.size(), 1u);
    if (one.kvs.empty()) co_return;
    EXPECT_EQ(one.kvs[0].value, "1");
    co_await s.erase("/t1/a");
    EXPECT_TRUE((co_await s.get("/t1/a")).kvs.empty());
  });
}

TEST(EtcdOperation, NamesTheGatewayPathsOperation) {
  EXPECT_EQ(etcd_operation("/v3/kv/range"), "range");
  EXPECT_EQ(etcd_operation("/v3/kv/txn"), "txn");
  EXPECT_EQ(etcd_operation("/v3/kv/deleterange"), "deleterange");
  EXPECT_EQ(etcd_operation("/v3/lease/keepalive"), "lease_keepalive");
  EXPECT_EQ(etcd_operation("/v3/lease/grant"), "lease_grant");
}

// The store tells its observer of every request it makes (metrics time etcd this way).
TEST_F(EtcdTest, TellsItsObserverOfEveryOperation) {
  struct Recorder : Observer {
    std::vector<std::string> ops;
    void operation(std::string_view op, double seconds) override {
      EXPECT_GE(seconds, 0.0);
      ops.emplace_back(op);
    }
  } recorder;
  run([&](Executor ex) -> boost::asio::awaitable<void> {
    EtcdStore s(ex, {etcd_->endpoint()});
    s.set_observer(&recorder);
    co_await s.put("/t-observed/a", "1");
    co_await s.get("/t-observed/a");
    co_await s.erase("/t-observed/a");
  });
  EXPECT_EQ(recorder.ops, (std::vector<std::string>{"put", "range", "deleterange"}));
}

TEST_F(EtcdTest, TxnCreateOnlyIfAbsentSucceedsOnce) {
  run([&](Executor ex) -> boost::asio::awaitable<void> {
    EtcdStore s(ex, {etcd_->endpoint()});
    // (Named vectors: g++ 12 rejects braced lists across co_await.)
    std::vector<Compare> absent{Compare::absent("/t2/ip")};
    std::vector<Operation> put_a{Operation::put("/t2/ip", "a")};
    std::vector<Operation> put_b{Operation::put("/t2/ip", "b")};
    std::vector<Operation> lost{Operation::put("/t2/lost", "b")};
    auto first = co_await s.txn(absent, put_a);
    auto second = co_await s.txn(absent, put_b, lost);
    EXPECT_TRUE(first.succeeded);
    EXPECT_FALSE(second.succeeded);
    EXPECT_EQ((co_await s.get("/t2/ip")).kvs.at(0).value, "a");
    EXPECT_EQ((co_await s.get("/t2/lost")).kvs.at(0).value, "b");
    auto kv = (co_await s.get("/t2/ip")).kvs.at(0);
    std::vector<Compare> stale_rev{Compare::mod_revision_is("/t2/ip", kv.mod_revision - 1)};
    std::vector<Operation> erase_ip{Operation::erase("/t2/ip")};
    auto stale = co_await s.txn(stale_rev, erase_ip);
    EXPECT_FALSE(stale.succeeded);
    std::vector<Compare> value_a{Compare::value_is("/t2/ip", "a")};
    std::vector<Operation> erase_all{Operation::erase_prefix("/t2/")};
    auto by_value = co_await s.txn(value_a, erase_all);
    EXPECT_TRUE(by_value.succeeded);
    EXPECT_TRUE((co_await s.get_prefix("/t2/")).kvs.empty());
  });
}

TEST_F(EtcdTest, LeaseKeysVanishOnRevoke) {
  run([&](Executor ex) -> boost::asio::awaitable<void> {
    EtcdStore s(ex, {etcd_->endpoint()});
    int64_t lease = co_await s.lease_grant(5);
    EXPECT_GT(lease, 0);
    co_await s.put("/t3/host", "x", lease);
    EXPECT_GT(co_await s.lease_keep_alive(lease), 0);
    EXPECT_EQ((co_await s.get("/t3/host")).kvs.at(0).lease, lease);
    co_await s.lease_revoke(lease);
    EXPECT_TRUE((co_await s.get("/t3/host")).kvs.empty());
    EXPECT_EQ(co_await s.lease_keep_alive(lease), 0);
  });
}

TEST_F(EtcdTest, CompactionDropsTheHistoryNotTheKeysAndStatusTellsTheSize) {
  run([&](Executor ex) -> boost::asio::awaitable<void> {
    EtcdStore s(ex, {etcd_->endpoint()});
    int64_t old = co_await s.put("/t9/a", "1");
    int64_t now = co_await s.put("/t9/a", "2");
    EXPECT_EQ((co_await s.get_prefix("/t9/", old)).kvs.at(0).value, "1");
    co_await s.compact(now);
    bool compacted = false;
    try {
      co_await s.get_prefix("/t9/", old);
    } catch (const std::exception& e) {
      compacted = std::string(e.what()).find("compacted") != std::string::npos;
    }
    EXPECT_TRUE(compacted);
    EXPECT_EQ((co_await s.get("/t9/a")).kvs.at(0).value, "2");
    // Again to the same revision: refused, and said so.
    bool refused = false;
    try {
      co_await s.compact(now);
    } catch (const std::runtime_error&) {
      refused = true;
    }
    EXPECT_TRUE(refused);
    auto status = co_await s.status();
    EXPECT_GT(status.db_size_bytes, 0);
    EXPECT_GT(status.db_size_in_use_bytes, 0);
    EXPECT_LE(status.db_size_in_use_bytes, status.db_size_bytes);
    EXPECT_TRUE(status.alarms.empty());
  });
}

TEST_F(EtcdTest, MirrorFollowsChangesAndSurvivesEtcdRestart) {
  run([&](Executor ex) -> boost::asio::awaitable<void> {
    EtcdStore s(ex, {etcd_->endpoint()});
    co_await s.put("/t4/a", "1");
    Mirror mirror(ex, s, "/t4/");
    boost::asio::co_spawn(ex, mirror.run(), boost::asio::detached);
    EXPECT_TRUE(co_await mirror.wait_for([&] { return mirror.loaded(); }, std::chrono::seconds(5)));
    EXPECT_NE(mirror.find("/t4/a"), nullptr);
    int64_t rev = co_await s.put("/t4/b", "2");
    EXPECT_TRUE(co_await mirror.wait_revision(rev, std::chrono::seconds(5)));
    EXPECT_EQ(mirror.find("/t4/b")->value, "2");
    co_await s.erase("/t4/a");
    EXPECT_TRUE(
        co_await mirror.wait_for([&] { return !mirror.find("/t4/a"); }, std::chrono::seconds(5)));
    // A restart of etcd: the watch resumes and sees writes made afterwards.
    etcd_->stop();
    etcd_->start();
    co_await s.put("/t4/c", "3");
    EXPECT_TRUE(co_await mirror.wait_for([&] { return mirror.find("/t4/c") != nullptr; },
                                         std::chrono::seconds(10)));
    co_return;
  });
}

TEST_F(EtcdTest, MirrorIndexFindsAGroupWithoutAScan) {
  run([&](Executor ex) -> boost::asio::awaitable<void> {
    EtcdStore s(ex, {etcd_->endpoint()});
    co_await s.put("/t7/h1/x/0", "a");
    co_await s.put("/t7/h2/y/0", "b");
    Mirror mirror(ex, s, "/t7/");
    // Keys /t7/HOST/ID/N grouped by ID.
    mirror.add_index("/t7/", [](std::string_view key) {
      auto rest = key.substr(4);
      auto first = rest.find('/'), last = rest.rfind('/');
      return std::string(rest.substr(first + 1, last - first - 1));
    });
    boost::asio::co_spawn(ex, mirror.run(), boost::asio::detached);
    EXPECT_TRUE(co_await mirror.wait_for([&] { return mirror.loaded(); }, std::chrono::seconds(5)));
    EXPECT_EQ(mirror.grouped("/t7/", "x").size(), 1u);
    co_await s.put("/t7/h3/x/1", "c");
    int64_t rev = co_await s.put("/t7/h1/x/0", "a2");
    EXPECT_TRUE(co_await mirror.wait_revision(rev, std::chrono::seconds(5)));
    auto x = mirror.grouped("/t7/", "x");
    EXPECT_EQ(x.size(), 2u);
    if (x.size() == 2) {
      EXPECT_EQ(x[0]->value, "a2");  // in key order, current values
      EXPECT_EQ(x[1]->value, "c");
    }
    rev = co_await s.erase("/t7/h1/x/0");
    EXPECT_TRUE(co_await mirror.wait_revision(rev, std::chrono::seconds(5)));
    EXPECT_EQ(mirror.grouped("/t7/", "x").size(), 1u);
    EXPECT_EQ(mirror.grouped("/t7/", "y").size(), 1u);
    EXPECT_TRUE(mirror.grouped("/t7/", "z").empty());
  });
}

TEST_F(EtcdTest, RangeAtAnEarlierRevision) {
  run([&](Executor ex) -> boost::asio::awaitable<void> {
    EtcdStore s(ex, {etcd_->endpoint()});
    int64_t first = co_await s.put("/t5/k", "old");
    co_await s.put("/t5/k", "new");
    co_await s.put("/t5/later", "x");
    auto then = co_await s.get_prefix("/t5/", first);
    EXPECT_EQ(then.kvs.size(), 1u);
    EXPECT_EQ(then.kvs.empty() ? "" : then.kvs[0].value, "old");
    EXPECT_EQ((co_await s.get_prefix("/t5/")).kvs.size(), 2u);
  });
}

TEST_F(EtcdTest, MovesOnToAnEndpointThatAnswers) {
  run([&](Executor ex) -> boost::asio::awaitable<void> {
    // The first member is down: calls, and a watch, go to the next one.
    EtcdStore s(ex, {"http://127.0.0.1:1," + etcd_->endpoint()});
    co_await s.put("/t6/a", "1");
    EXPECT_EQ((co_await s.get("/t6/a")).kvs.at(0).value, "1");
    Mirror mirror(ex, s, "/t6/");
    boost::asio::co_spawn(ex, mirror.run(), boost::asio::detached);
    int64_t rev = co_await s.put("/t6/b", "2");
    EXPECT_TRUE(co_await mirror.wait_revision(rev, std::chrono::seconds(5)));
    EXPECT_NE(mirror.find("/t6/a"), nullptr);
  });
}

// etcd refuses a request signed with a token given before its users or roles last changed (a
// host joined meanwhile): the store signs in again and asks once more; nothing was applied.
TEST(EtcdSignIn, ATokenOlderThanAChangeOfUsersIsRenewed) {
  run([&](Executor ex) -> boost::asio::awaitable<void> {
    int sign_ins = 0, ranges = 0;
    std::vector<std::string> tokens_seen;
    http::Server fake(ex, "127.0.0.1:0", [&](const http::ServerRequest& r) {
      http::Response res;
      res.status = 200;
      if (r.path == "/v3/auth/authenticate") {
        res.body = R"({"token":"token-)" + std::to_string(++sign_ins) + R"("})";
      } else if (r.path == "/v3/kv/range") {
        tokens_seen.push_back(r.header("authorization"));
        if (++ranges == 1) {
          res.status = 400;
          res.body = R"({"error":"etcdserver: revision of auth store is old","code":3})";
        } else {
          res.body = R"({"header":{"revision":"7"},"kvs":[]})";
        }
      }
      return
          [](http::Response out) -> boost::asio::awaitable<http::Response> { co_return out; }(res);
    });
    fake.start();
    EtcdStore s(ex, {"http://127.0.0.1:" + std::to_string(fake.port())}, {},
                EtcdLogin{"agent-h1", "secret"});
    auto r = co_await s.get("/x");
    EXPECT_TRUE(r.kvs.empty());
    EXPECT_EQ(sign_ins, 2);
    EXPECT_EQ(tokens_seen, (std::vector<std::string>{"token-1", "token-2"}));
    fake.stop();
  });
}

TEST_F(EtcdTest, NoEndpointAnswersIsAClearError) {
  run([&](Executor ex) -> boost::asio::awaitable<void> {
    EtcdStore s(ex, {"http://127.0.0.1:1", "http://127.0.0.1:2"});
    try {
      co_await s.get("/x");
      ADD_FAILURE() << "expected Unavailable";
    } catch (const Unavailable& e) {
      EXPECT_NE(std::string(e.what()).find("no etcd endpoint answers"), std::string::npos);
    }
  });
}

}  // namespace
}  // namespace berth::store
