// Test support: an in-process http::Server on its own thread that answers berth's REST paths
// with canned JSON and records what it was asked, for tests of the client and the CLI.
#pragma once

#include <boost/asio/io_context.hpp>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "http/http.hpp"

namespace berth::test {

class FakeApi {
 public:
  struct Seen {
    std::string method, target, body, authorization;
  };

  FakeApi()
      : server_(io_.get_executor(), "127.0.0.1:0",
                [this](const http::ServerRequest& r) -> boost::asio::awaitable<http::Response> {
                  co_return answer(r);
                }) {
    server_.start();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~FakeApi() {
    io_.stop();
    thread_.join();
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_.port()); }

  // "METHOD /path" (without the query) answers status and body; later answers for the same
  // key queue up, and the last one repeats.
  void on(const std::string& key, int status, const nlohmann::json& body) {
    on_text(key, status, body.dump());
  }
  void on_text(const std::string& key, int status, const std::string& body) {
    std::lock_guard lock(mutex_);
    answers_[key].push_back({status, body});
  }
  std::vector<Seen> seen() {
    std::lock_guard lock(mutex_);
    return seen_;
  }
  Seen last() {
    std::lock_guard lock(mutex_);
    return seen_.empty() ? Seen{} : seen_.back();
  }

 private:
  http::Response answer(const http::ServerRequest& r) {
    std::lock_guard lock(mutex_);
    seen_.push_back({r.method, r.target, r.body, r.header("authorization")});
    http::Response res;
    auto it = answers_.find(r.method + " " + r.path);
    if (it == answers_.end() || it->second.empty()) {
      res.status = 404;
      res.body = nlohmann::json{{"error", "fake: nothing at " + r.method + " " + r.path}}.dump();
      return res;
    }
    auto [status, body] = it->second.front();
    if (it->second.size() > 1) it->second.erase(it->second.begin());
    res.status = status;
    res.body = body;
    return res;
  }

  boost::asio::io_context io_;
  http::Server server_;
  std::thread thread_;
  std::mutex mutex_;
  std::map<std::string, std::vector<std::pair<int, std::string>>> answers_;
  std::vector<Seen> seen_;
};

}  // namespace berth::test
