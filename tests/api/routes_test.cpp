// The route table: how paths match, what the metrics label is, and the order in which the
// router answers (open routes, the UI, 404 outside /v1, the token, then 404 or 405).
#include "api/routes.hpp"

#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <fstream>
#include <set>

#include "api/api.hpp"
#include "support/process.hpp"
#include "support/run.hpp"

namespace berth::api {
namespace {

namespace asio = boost::asio;
using nlohmann::json;

TEST(Routes, EveryPatternHasAsManyParamsAsItsHandlerTakes) {
  std::set<std::pair<std::string_view, std::string_view>> seen;
  for (auto& route : routes()) {
    int braces = 0;
    for (char ch : route.pattern) braces += ch == '{';
    EXPECT_EQ(braces, route.handler.params) << route.pattern;
    EXPECT_TRUE(seen.insert({route.method, route.pattern}).second)
        << "twice: " << route.method << " " << route.pattern;
    EXPECT_FALSE(route.name.empty()) << route.pattern;
  }
}

TEST(Routes, MatchesBySegments) {
  struct Case {
    std::string_view pattern, path;
    bool matches;
    std::string_view first = {}, second = {};
  };
  Case cases[] = {
      {"/v1/databases", "/v1/databases", true},
      {"/v1/databases", "/v1/databases/", false},
      {"/v1/databases", "/v1/database", false},
      {"/v1/databases/{name}", "/v1/databases/cache", true, "cache"},
      {"/v1/databases/{name}", "/v1/databases/", false},  // a parameter is never empty
      {"/v1/databases/{name}", "/v1/databases/a/b", false},
      {"/v1/databases/{name}/backups", "/v1/databases/cache/backups", true, "cache"},
      {"/v1/databases/{name}/backups", "/v1/databases/backups", false},
      {"/v1/databases/{name}/backups", "/v1/databases/cache/restore", false},
      {"/v1/databases/{name}/backups", "/v1/databases//backups", false},
      {"/v1/tasks/{id}/cancel", "/v1/tasks/t-1/cancel", true, "t-1"},
      {"/a/{x}/b/{y}", "/a/1/b/2", true, "1", "2"},
      {"/ui/", "/ui/", true},
      {"/ui/{file}", "/ui/", false},
      {"/ui/{file}", "/ui/app.js", true, "app.js"},
      {"/metrics", "metrics", false},
      {"/metrics", "", false},
  };
  for (auto& c : cases) {
    PathParams params;
    EXPECT_EQ(match(c.pattern, c.path, &params), c.matches) << c.pattern << " " << c.path;
    if (!c.matches) continue;
    EXPECT_EQ(params[0], c.first) << c.path;
    EXPECT_EQ(params[1], c.second) << c.path;
  }
}

TEST(Routes, FindsTheRouteOfMethodAndPath) {
  auto found = find_route("POST", "/v1/databases/cache/switchover");
  ASSERT_TRUE(found.route);
  EXPECT_EQ(found.route->name, "databases.switchover");
  EXPECT_EQ(found.params[0], "cache");
  found = find_route("PATCH", "/v1/databases/cache");
  ASSERT_TRUE(found.route);
  EXPECT_EQ(found.route->name, "databases.update");
  found = find_route("PUT", "/v1/databases/cache");
  EXPECT_FALSE(found.route);
  EXPECT_TRUE(found.path_known);  // a 405
  found = find_route("GET", "/v1/databases/cache/nothing");
  EXPECT_FALSE(found.route);
  EXPECT_FALSE(found.path_known);  // a 404
  EXPECT_EQ(find_route("GET", "/v1/health").route->need, auth::Need::open);
  EXPECT_EQ(find_route("GET", "/metrics").route->need, auth::Need::open);
  EXPECT_EQ(find_route("GET", "/ui/app.js").route->need, auth::Need::open);
  EXPECT_EQ(find_route("GET", "/v1/sd/prometheus").route->need, auth::Need::discovery);
  EXPECT_EQ(find_route("GET", "/v1/databases").route->need, auth::Need::read);
}

TEST(Routes, TheLabelIsThePatternWhateverTheMethod) {
  EXPECT_EQ(route_label("/v1/databases/cache/usage"), "/v1/databases/{name}/usage");
  EXPECT_EQ(route_label("/v1/backups/b-1/restore"), "/v1/backups/{id}/restore");
  EXPECT_EQ(route_label("/v1/hosts/h1/undrain"), "/v1/hosts/{name}/undrain");
  EXPECT_EQ(route_label("/v1/network"), "/v1/network");
  EXPECT_EQ(route_label("/v1/hosts/h1"), "/v1/hosts/{name}");  // DELETE's, whatever the method
  EXPECT_EQ(route_label("/v1/hosts/h1/nosuch"), "other");      // no such route
  EXPECT_EQ(route_label("/v1/databases/cache/logs"), "/v1/databases/{name}/logs");
  EXPECT_EQ(route_label("/v1/databases/cache/nosuch"), "other");
}

// A store for the router alone: an admin token hash and nothing else; the watch waits until
// it is cancelled.
class TokenOnlyStore : public store::Store {
 public:
  explicit TokenOnlyStore(asio::any_io_executor ex) : ex_(ex) {}
  asio::awaitable<store::RangeResult> get(std::string key) override {
    store::RangeResult r;
    r.revision = revision_;
    if (auto it = kvs_.find(key); it != kvs_.end()) r.kvs.push_back(it->second);
    co_return r;
  }
  asio::awaitable<store::RangeResult> get_prefix(std::string prefix, int64_t) override {
    store::RangeResult r;
    r.revision = revision_;
    for (auto& [k, kv] : kvs_)
      if (k.starts_with(prefix)) r.kvs.push_back(kv);
    co_return r;
  }
  asio::awaitable<store::RangeResult> get_range(std::string, std::string) override {
    co_return store::RangeResult{};
  }
  asio::awaitable<int64_t> put(std::string key, std::string value, int64_t) override {
    store::KeyValue kv;
    kv.key = key;
    kv.value = value;
    kv.mod_revision = ++revision_;
    kvs_[key] = kv;
    co_return revision_;
  }
  asio::awaitable<int64_t> erase(std::string) override { co_return revision_; }
  asio::awaitable<store::TxnResult> txn(std::vector<store::Compare>,
                                        std::vector<store::Operation> ops,
                                        std::vector<store::Operation>) override {
    for (auto& op : ops)
      if (op.kind == store::Operation::Kind::Put) co_await put(op.key, op.value, 0);
    co_return store::TxnResult{true, revision_};
  }
  asio::awaitable<int64_t> lease_grant(int64_t) override { co_return 1; }
  asio::awaitable<int64_t> lease_keep_alive(int64_t) override { co_return 10; }
  asio::awaitable<void> lease_revoke(int64_t) override { co_return; }
  asio::awaitable<void> compact(int64_t) override { co_return; }
  asio::awaitable<store::StoreStatus> status() override { co_return store::StoreStatus{}; }
  asio::awaitable<void> watch(
      std::string, int64_t,
      std::function<void(int64_t, const std::vector<store::WatchEvent>&)>) override {
    ++watching;
    asio::steady_timer forever(ex_, std::chrono::hours(1));
    try {
      co_await forever.async_wait(asio::use_awaitable);
    } catch (...) {
      --watching;
      throw;
    }
    --watching;
  }
  int watching = 0;

 private:
  asio::any_io_executor ex_;
  std::map<std::string, store::KeyValue> kvs_;
  int64_t revision_ = 1;
};

TEST(Routes, TheRouterAnswersInItsOrderAndStopEndsWhatTheApiSpawned) {
  std::string dir = test::make_temp_dir("api-routes");
  test::run([&](test::Executor ex) -> asio::awaitable<void> {
    TokenOnlyStore s(ex);
    Options options;
    options.listen = "127.0.0.1:0";
    options.token_file = dir + "/admin.token";
    Api api(ex, s, options);
    co_await api.start();
    std::string token;
    std::ifstream(options.token_file) >> token;
    auto call = [&](std::string method, std::string path,
                    std::string tok) -> asio::awaitable<http::Response> {
      http::ServerRequest r;
      r.method = method;
      r.target = r.path = path;
      if (!tok.empty()) r.headers["authorization"] = "Bearer " + tok;
      co_return co_await api.handle(r);
    };
    EXPECT_EQ((co_await call("GET", "/v1/health", "")).status, 200);
    EXPECT_EQ((co_await call("GET", "/metrics", "")).status, 200);
    EXPECT_EQ((co_await call("GET", "/ui/", "")).status, 200);
    EXPECT_EQ((co_await call("GET", "/ui", "")).status, 301);
    EXPECT_EQ((co_await call("POST", "/ui/app.js", "")).status, 405);
    EXPECT_EQ((co_await call("GET", "/ui/a/b", "")).status, 404);
    EXPECT_EQ((co_await call("GET", "/nowhere", "")).status, 404);  // before the token
    EXPECT_EQ((co_await call("POST", "/metrics", "")).status, 404);
    EXPECT_EQ((co_await call("GET", "/v1/databases", "")).status, 401);
    EXPECT_EQ((co_await call("GET", "/v1/nowhere", "")).status, 401);  // the token first
    EXPECT_EQ((co_await call("GET", "/v1/databases", "wrong")).status, 401);
    EXPECT_EQ((co_await call("GET", "/v1/databases", token)).status, 200);
    EXPECT_EQ((co_await call("GET", "/v1/databases/nosuch", token)).status, 404);
    auto not_found = co_await call("GET", "/v1/databases/a/b/c", token);
    EXPECT_EQ(not_found.status, 404);
    EXPECT_EQ(json::parse(not_found.body)["error"], "no such endpoint: GET /v1/databases/a/b/c");
    auto wrong_method = co_await call("PUT", "/v1/databases/x", token);
    EXPECT_EQ(wrong_method.status, 405);
    EXPECT_EQ(json::parse(wrong_method.body)["error"], "method not allowed: PUT /v1/databases/x");
    EXPECT_EQ(wrong_method.headers,
              (decltype(wrong_method.headers){{"Allow", "GET, PATCH, DELETE"}}));
    EXPECT_EQ((co_await call("DELETE", "/v1/databases", token)).status, 405);
    EXPECT_EQ((co_await call("GET", "/v1/backups/b-1/nothing", token)).status, 404);
    EXPECT_EQ((co_await call("GET", "/v1/hosts", token)).status, 200);

    // The mirror's watch is the Api's: shutdown cancels it and waits for it to end.
    EXPECT_EQ(s.watching, 1);
    EXPECT_TRUE(co_await api.shutdown(std::chrono::seconds(5)));
    EXPECT_EQ(s.watching, 0);
  });
  test::remove_tree(dir);
}

}  // namespace
}  // namespace berth::api
