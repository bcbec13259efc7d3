#include "api/api.hpp"

#include <sys/stat.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <filesystem>
#include <fstream>

#include "api/handlers.hpp"
#include "api/respond.hpp"
#include "api/routes.hpp"
#include "api/ui.hpp"
#include "metrics/berth.hpp"
#include "util/encoding.hpp"
#include "util/log.hpp"
#include "util/signal.hpp"

namespace berth::api {

namespace asio = boost::asio;
namespace keys = model::keys;
using namespace std::chrono_literals;

struct Api::Running {
  explicit Running(asio::any_io_executor executor) : ended(std::move(executor)) {}
  int count = 0;
  util::Signal ended;
};

Api::Api(asio::any_io_executor executor, store::Store& store, Options options)
    : context_(executor, store, std::move(options)),
      running_(std::make_shared<Running>(executor)) {}

Api::~Api() {
  stop();
}

void Api::spawn(asio::awaitable<void> work) {
  auto& stop = stops_.emplace_back();
  ++running_->count;
  // The completion may come after the Api is gone: it touches only what it shares.
  asio::co_spawn(
      context_.executor, std::move(work),
      asio::bind_cancellation_slot(stop.slot(), [running = running_](std::exception_ptr) {
        --running->count;
        running->ended.notify_all();
      }));
}

asio::awaitable<void> Api::start() {
  co_await ensure_admin_token();
  co_await ensure_cluster_id();
  co_await ensure_default_project();
  spawn(context_.state.run());
  co_await context_.state.wait_for([this] { return context_.state.loaded(); }, 30s);
  http::ServerOptions listener;
  listener.admit = [this](const http::ServerRequest& head) { return admit(head); };
  listener.refused = [](const http::ServerRequest& head, int status) {
    metrics::observe_api_request(head.method, head.path, status, 0);
  };
  listener.tls_cert_file = context_.options.tls_cert_file;
  listener.tls_key_file = context_.options.tls_key_file;
  server_ = std::make_unique<http::Server>(
      context_.executor, context_.options.listen,
      [this](const http::ServerRequest& r) { return serve(r); }, std::move(listener));
  server_->start();
}

void Api::stop() {
  if (server_) server_->stop();
  for (auto& stop : stops_) stop.emit(asio::cancellation_type::all);
}

asio::awaitable<bool> Api::shutdown(std::chrono::steady_clock::duration timeout) {
  stop();
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto running = running_;
  while (running->count > 0)
    if (!co_await running->ended.wait(deadline)) co_return false;
  co_return true;
}

uint16_t Api::port() const {
  return server_ ? server_->port() : 0;
}

asio::awaitable<void> Api::ensure_cluster_id() {
  std::vector<store::Compare> absent{store::Compare::absent(keys::kClusterId)};
  std::vector<store::Operation> put{store::Operation::put(keys::kClusterId, util::random_hex(8))};
  if ((co_await context_.store.txn(absent, put)).succeeded)
    util::log("server: this etcd had no cluster id: made one");
}

asio::awaitable<void> Api::ensure_default_project() {
  // Databases made before projects, and creates that name none, belong to it.
  model::Project p{keys::kDefaultProject, 0, 0, model::now_rfc3339()};
  std::vector<store::Compare> absent{store::Compare::absent(keys::project(p.name))};
  std::vector<store::Operation> put{store::Operation::put(keys::project(p.name), model::dump(p))};
  co_await context_.store.txn(absent, put);
}

asio::awaitable<void> Api::ensure_admin_token() {
  auto existing = co_await context_.store.get(keys::kAdminTokenHash);
  if (!existing.kvs.empty()) co_return;
  std::string token = util::random_hex(24);
  std::vector<store::Compare> absent{store::Compare::absent(keys::kAdminTokenHash)};
  std::vector<store::Operation> put{
      store::Operation::put(keys::kAdminTokenHash, util::sha256_hex(token))};
  auto result = co_await context_.store.txn(absent, put);
  if (!result.succeeded) co_return;  // another server made it first
  // Only the hash stays in etcd; the token itself goes to a file only root can read.
  std::filesystem::path path(context_.options.token_file);
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  {
    std::ofstream out(path, std::ios::trunc);
    out << token << "\n";
  }
  ::chmod(path.c_str(), 0600);
  util::log("server: made the admin token, written to {}", path.string());
}

std::variant<auth::Caller, std::string> Api::identify(const http::ServerRequest& request) const {
  auto* admin = context_.state.find(keys::kAdminTokenHash);
  auto token = [this](const std::string& id) -> const model::Token* {
    auto* r = context_.view.token(id);
    return r ? &r->value : nullptr;
  };
  // A secret seen before costs no sha256: reads stay as fast as with one token.
  auto sha256 = [this](std::string_view secret) {
    std::string key(secret);
    if (auto it = hashes_.find(key); it != hashes_.end()) return it->second;
    if (hashes_.size() >= 1024) hashes_.clear();
    return hashes_[key] = util::sha256_hex(secret);
  };
  return auth::identify(request.header("authorization"), admin ? admin->value : std::string(),
                        token, sha256, std::time(nullptr));
}

std::optional<http::Response> Api::gate(Request& r, const Match& found) const {
  const std::string& path = r.path;
  // Health, /metrics (Prometheus scrapes it as is) and the UI's files need no token.
  if (found.route && found.route->need == auth::Need::open) return std::nullopt;
  if (is_ui_path(path) || !path.starts_with("/v1/")) return std::nullopt;
  auto who = identify(r);
  if (auto* refused = std::get_if<std::string>(&who)) return error(401, *refused);
  r.caller = std::get<auth::Caller>(who);
  // The one place where a role meets what a route needs; handlers scope records by project.
  if (found.route)
    if (auto refusal = auth::refusal(r.caller, found.route->need)) return error(403, *refusal);
  return std::nullopt;
}

asio::awaitable<std::optional<http::Response>> Api::admit(const http::ServerRequest& head) {
  // Before the body is read: a caller without a token, or whose role may not call the route,
  // is answered on its headers alone.
  auto started = std::chrono::steady_clock::now();
  auto found = find_route(head.method, head.path);
  Request r{head, {}};
  auto refused = gate(r, found);
  if (refused) {
    co_await record_call(context_, r, found.route, refused->status);
    // Counted as serve() counts the calls it answers: refusals stay visible in the metrics.
    metrics::observe_api_request(head.method, head.path, refused->status,
                                 metrics::ScopedTimer::seconds_since(started));
  }
  co_return refused;
}

asio::awaitable<http::Response> Api::handle(const http::ServerRequest& request) {
  const std::string& path = request.path;
  const std::string& method = request.method;
  auto found = find_route(method, path);
  Request r{request, {}};
  if (auto refused = gate(r, found)) {
    co_await record_call(context_, r, found.route, refused->status);
    co_return *refused;
  }
  if (found.route && found.route->need == auth::Need::open)
    co_return co_await found.route->handler.call(context_, r, found.params);
  if (is_ui_path(path)) co_return serve_ui(request);  // its own 404 and 405
  if (!path.starts_with("/v1/")) co_return error(404, "no such endpoint: " + path);
  if (!found.route) {
    if (!found.path_known) co_return error(404, "no such endpoint: " + method + " " + path);
    auto response = error(405, "method not allowed: " + method + " " + path);
    std::string allow;
    for (auto& route : routes())
      if (PathParams p; match(route.pattern, path, &p))
        allow += (allow.empty() ? "" : ", ") + std::string(route.method);
    response.headers.push_back({"Allow", allow});
    co_return response;
  }
  auto response = co_await found.route->handler.call(context_, r, found.params);
  co_await record_call(context_, r, found.route, response.status);
  co_return response;
}

asio::awaitable<http::Response> Api::serve(const http::ServerRequest& request) {
  auto started = std::chrono::steady_clock::now();
  http::Response response;
  std::exception_ptr failure;
  try {
    response = co_await handle(request);
  } catch (...) {
    failure = std::current_exception();
    response.status = 500;
  }
  // A long poll (?wait=, ?follow=) lasts as long as it was asked to: not a latency.
  bool long_poll = request.query.count("wait") || request.query.count("follow");
  if (!long_poll)
    metrics::observe_api_request(request.method, request.path, response.status,
                                 metrics::ScopedTimer::seconds_since(started));
  if (failure) std::rethrow_exception(failure);
  co_return response;
}

}  // namespace berth::api
