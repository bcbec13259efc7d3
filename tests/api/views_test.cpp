// The API's reads (GET /v1/databases, /v1/databases/{name}) against a real etcd: what they
// show follows every change of the records they are made of, whatever the caches keep.
#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <fstream>

#include "api/api.hpp"
#include "model/model.hpp"
#include "store/etcd.hpp"
#include "support/process.hpp"
#include "support/run.hpp"
#include "util/encoding.hpp"

namespace berth::api {
namespace {

namespace asio = boost::asio;
namespace keys = model::keys;
using nlohmann::json;
using test::Executor;
using test::run;

class ApiViewsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { etcd_ = new test::EtcdServer(); }
  static void TearDownTestSuite() { delete etcd_; }
  void SetUp() override { dir_ = test::make_temp_dir("api-views"); }
  void TearDown() override { test::remove_tree(dir_); }
  static test::EtcdServer* etcd_;
  std::string dir_;
};
test::EtcdServer* ApiViewsTest::etcd_ = nullptr;

// Puts one database with `instances` instances (0 the primary), each healthy on its own host.
asio::awaitable<void> put_database(store::Store& s, const std::string& id, const std::string& name,
                                   int instances) {
  model::Database db;
  db.id = id;
  db.name = name;
  db.engine = "redis";
  db.memory_mb = 64;
  db.replicas = instances - 1;
  co_await s.put(keys::database(id), model::dump(db));
  co_await s.put(keys::name("default", name), id);
  for (int n = 0; n < instances; ++n) {
    std::string host = "h" + std::to_string(n + 1);
    model::Host h;
    h.name = host;
    co_await s.put(keys::host(host), model::dump(h));
    model::Allocation a;
    a.database_id = id;
    a.database_name = name;
    a.n = n;
    a.host = host;
    a.ip = "10.9.0." + std::to_string(n + 2);
    a.port = 6379;
    a.role = n == 0 ? model::Role::primary : model::Role::replica;
    co_await s.put(keys::allocation(host, id, n), model::dump(a));
    model::InstanceStatus st;
    st.host = host;
    st.state = model::InstanceState::healthy;
    st.link_up = n > 0;
    co_await s.put(keys::status(host, id, n), model::dump(st));
  }
}

struct Client {
  Api& api;
  std::string token;
  // (status, parsed body) of one GET as the router sees it.
  asio::awaitable<std::pair<int, json>> get(const std::string& path, std::string tok = "") {
    http::ServerRequest r;
    r.method = "GET";
    r.target = r.path = path;
    r.headers["authorization"] = "Bearer " + (tok.empty() ? token : tok);
    auto response = co_await api.handle(r);
    co_return std::pair<int, json>{response.status, json::parse(response.body)};
  }
};

// Erases everything berth keeps in etcd, for a test of its own.
asio::awaitable<void> clear(store::Store& s) {
  std::vector<store::Compare> always;
  std::vector<store::Operation> erase{store::Operation::erase_prefix(keys::kRoot)};
  co_await s.txn(always, erase);
}

std::string state_of(const json& list, const std::string& name) {
  for (auto& d : list)
    if (d["name"] == name) return d["state"];
  return "(absent)";
}

TEST_F(ApiViewsTest, ReadsFollowEveryChange) {
  run([&](Executor ex) -> asio::awaitable<void> {
    store::EtcdStore s(ex, {etcd_->endpoint()});
    co_await clear(s);
    co_await put_database(s, "aaaa01", "zeta", 2);
    co_await put_database(s, "bbbb02", "alpha", 1);
    Options options;
    options.listen = "127.0.0.1:0";
    options.token_file = dir_ + "/admin.token";
    Api api(ex, s, options);
    co_await api.start();
    std::string token;
    std::ifstream(options.token_file) >> token;
    Client c{api, token};
    int64_t rev = 0;

    auto [status, list] = co_await c.get("/v1/databases");
    EXPECT_EQ(status, 200);
    EXPECT_EQ(list.size(), 2u);
    if (list.size() != 2) co_return;      // (the failure is recorded above)
    EXPECT_EQ(list[0]["name"], "alpha");  // by name
    EXPECT_EQ(list[1]["name"], "zeta");
    EXPECT_EQ(list[1]["instances"].size(), 2u);
    EXPECT_EQ(state_of(list, "zeta"), "running");
    auto [one_status, one] = co_await c.get("/v1/databases/zeta");
    EXPECT_EQ(one_status, 200);
    EXPECT_EQ(one, list[1]);
    auto r1 = co_await c.get("/v1/databases/aaaa01");
    EXPECT_EQ(r1.second, one);  // by id

    // A status changes: both reads show it.
    model::InstanceStatus failed;
    failed.host = "h2";
    failed.state = model::InstanceState::failed;
    failed.message = "crash loop";
    rev = co_await s.put(keys::status("h2", "aaaa01", 1), model::dump(failed));
    EXPECT_TRUE(co_await api.state().wait_revision(rev, std::chrono::seconds(5)));
    auto r2 = co_await c.get("/v1/databases/zeta");
    EXPECT_EQ(r2.second["state"], "degraded");
    auto r3 = co_await c.get("/v1/databases");
    EXPECT_EQ(state_of(r3.second, "zeta"), "degraded");

    // A status and its host go away: the instance is unknown.
    co_await s.erase(keys::status("h2", "aaaa01", 1));
    rev = co_await s.erase(keys::host("h2"));
    EXPECT_TRUE(co_await api.state().wait_revision(rev, std::chrono::seconds(5)));
    auto view = (co_await c.get("/v1/databases/zeta")).second;
    int seen = 0;
    for (auto& i : view["instances"])
      if (i["n"] == 1) {
        EXPECT_EQ(i["state"], "unknown");
        ++seen;
      }
    EXPECT_EQ(seen, 1) << view.dump();
    auto r4 = co_await c.get("/v1/databases");
    EXPECT_EQ(r4.second[1], view);

    // An instance is added, then the database goes.
    model::Allocation extra;
    extra.database_id = "aaaa01";
    extra.n = 2;
    extra.host = "h3";
    extra.role = model::Role::replica;
    rev = co_await s.put(keys::allocation("h3", "aaaa01", 2), model::dump(extra));
    EXPECT_TRUE(co_await api.state().wait_revision(rev, std::chrono::seconds(5)));
    auto r5 = co_await c.get("/v1/databases/zeta");
    EXPECT_EQ(r5.second["instances"].size(), 3u);
    co_await s.erase(keys::name("default", "zeta"));
    rev = co_await s.erase(keys::database("aaaa01"));
    EXPECT_TRUE(co_await api.state().wait_revision(rev, std::chrono::seconds(5)));
    auto r6 = co_await c.get("/v1/databases/zeta");
    EXPECT_EQ(r6.first, 404);
    auto after = (co_await c.get("/v1/databases")).second;
    EXPECT_EQ(after.size(), 1u);
    EXPECT_EQ(state_of(after, "alpha"), "running");
    api.stop();
  });
}

TEST_F(ApiViewsTest, OnlyTheCurrentAdminTokenIsAccepted) {
  run([&](Executor ex) -> asio::awaitable<void> {
    store::EtcdStore s(ex, {etcd_->endpoint()});
    co_await clear(s);
    Options options;
    options.listen = "127.0.0.1:0";
    options.token_file = dir_ + "/admin.token";
    Api api(ex, s, options);
    co_await api.start();
    std::string token;
    std::ifstream(options.token_file) >> token;
    Client c{api, token};
    int64_t rev = 0;
    auto r7 = co_await c.get("/v1/databases");
    EXPECT_EQ(r7.first, 200);
    auto r8 = co_await c.get("/v1/databases");
    EXPECT_EQ(r8.first, 200);  // the remembered token
    std::string wrong = token;
    wrong.back() = wrong.back() == 'a' ? 'b' : 'a';
    auto r9 = co_await c.get("/v1/databases", wrong);
    EXPECT_EQ(r9.first, 401);
    auto r10 = co_await c.get("/v1/databases", token + "x");
    EXPECT_EQ(r10.first, 401);
    // A new token replaces the old one at once.
    std::string other = util::random_hex(24);
    rev = co_await s.put(keys::kAdminTokenHash, util::sha256_hex(other));
    EXPECT_TRUE(co_await api.state().wait_revision(rev, std::chrono::seconds(5)));
    auto r11 = co_await c.get("/v1/databases");
    EXPECT_EQ(r11.first, 401);
    auto r12 = co_await c.get("/v1/databases", other);
    EXPECT_EQ(r12.first, 200);
    api.stop();
  });
}

}  // namespace
}  // namespace berth::api
