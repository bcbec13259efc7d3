// The web UI's files as the server answers them: built into the binary, with their types.
#include "api/ui.hpp"

#include <gtest/gtest.h>

#include <set>

namespace berth::api {
namespace {

http::Response get(const std::string& target, const std::string& method = "GET") {
  http::ServerRequest request;
  request.method = method;
  request.target = target;
  request.path = target.substr(0, target.find('?'));
  return serve_ui(request);
}

std::string header(const http::Response& r, const std::string& name) {
  for (auto& [k, v] : r.headers)
    if (k == name) return v;
  return {};
}

TEST(UiTest, EveryFileOfWebIsBuiltIn) {
  std::set<std::string_view> names;
  for (auto& asset : ui_assets()) {
    names.insert(asset.name);
    EXPECT_FALSE(asset.data.empty()) << asset.name;
  }
  EXPECT_TRUE(names.count("index.html"));
  EXPECT_TRUE(names.count("app.js"));
  EXPECT_TRUE(names.count("app.css"));
}

TEST(UiTest, RootIsTheIndexPageAndFilesHaveTheirTypes) {
  auto index = get("/ui/");
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(index.content_type, "text/html; charset=utf-8");
  EXPECT_NE(index.body.find("<!doctype html>"), std::string::npos);
  EXPECT_NE(header(index, "Content-Security-Policy").find("script-src 'self'"), std::string::npos);
  EXPECT_EQ(get("/ui/?token=abc").body, index.body);
  EXPECT_EQ(get("/ui/index.html").body, index.body);
  auto js = get("/ui/app.js");
  EXPECT_EQ(js.status, 200);
  EXPECT_EQ(js.content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(get("/ui/app.css").content_type, "text/css; charset=utf-8");
  EXPECT_EQ(header(js, "X-Content-Type-Options"), "nosniff");
}

TEST(UiTest, BarePathRedirectsKeepingTheQuery) {
  auto r = get("/ui");
  EXPECT_EQ(r.status, 301);
  EXPECT_EQ(header(r, "Location"), "/ui/");
  EXPECT_EQ(header(get("/ui?token=abc"), "Location"), "/ui/?token=abc");
}

TEST(UiTest, UnknownFilesAndOtherMethodsAreRefused) {
  EXPECT_EQ(get("/ui/nope.js").status, 404);
  EXPECT_NE(get("/ui/nope.js").body.find("no such file: /ui/nope.js"), std::string::npos);
  EXPECT_EQ(get("/ui/x/app.js").status, 404);
  EXPECT_EQ(get("/ui/../ui/app.js").status, 404);
  EXPECT_EQ(get("/ui/app.js", "POST").status, 405);
  EXPECT_TRUE(is_ui_path("/ui"));
  EXPECT_TRUE(is_ui_path("/ui/app.js"));
  EXPECT_FALSE(is_ui_path("/uix"));
  EXPECT_FALSE(is_ui_path("/v1/databases"));
}

}  // namespace
}  // namespace berth::api
