// The REST API (/v1): routes each request through the route table (api/routes.cpp) to its
// resource's handler; reads come from a watched mirror of the whole state. Owns the admin
// token, the listener, and the work it spawns (cancelled by stop()).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <variant>

#include "api/context.hpp"
#include "api/routes.hpp"
#include "auth/auth.hpp"
#include "http/http.hpp"
#include "store/mirror.hpp"
#include "store/store.hpp"

namespace berth::api {

class Api {
 public:
  Api(boost::asio::any_io_executor executor, store::Store& store, Options options);
  ~Api();

  // Makes the admin token if there is none, loads the state and starts listening.
  boost::asio::awaitable<void> start();
  // Stops listening and cancels what the Api spawned.
  void stop();
  // stop(), then waits (up to `timeout`) until what it spawned has ended.
  boost::asio::awaitable<bool> shutdown(std::chrono::steady_clock::duration timeout);
  uint16_t port() const;
  store::Mirror& state() { return context_.state; }
  // The same state decoded into typed records (state::View follows state()).
  state::View& view() { return context_.view; }

  // Routes one request (public for tests and for embedding).
  boost::asio::awaitable<http::Response> handle(const http::ServerRequest& request);
  // handle(), timed for berth_api_request_duration_seconds: what the listener calls.
  boost::asio::awaitable<http::Response> serve(const http::ServerRequest& request);

 private:
  boost::asio::awaitable<void> ensure_admin_token();
  boost::asio::awaitable<void> ensure_cluster_id();
  boost::asio::awaitable<void> ensure_default_project();
  // The caller a request's token names, or why it is refused (401).
  std::variant<auth::Caller, std::string> identify(const http::ServerRequest& request) const;
  // Sets r.caller from its token, or answers 401 (no valid token) or 403 (the role may not
  // call the route). Needs the headers only: admit() runs it before a body is read.
  std::optional<http::Response> gate(Request& r, const Match& found) const;
  boost::asio::awaitable<std::optional<http::Response>> admit(const http::ServerRequest& head);
  // Runs work until it ends or the Api stops: each spawn gets its own cancellation signal,
  // which stop() (and the destructor) emits.
  void spawn(boost::asio::awaitable<void> work);

  Context context_;
  std::unique_ptr<http::Server> server_;
  std::list<boost::asio::cancellation_signal> stops_;  // one per spawn, stable addresses
  struct Running;                                      // how many spawns have not ended
  std::shared_ptr<Running> running_;
  mutable std::map<std::string, std::string> hashes_;  // secret -> sha256, at most 1024
};

}  // namespace berth::api
