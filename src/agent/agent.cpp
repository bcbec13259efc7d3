#include "agent/agent.hpp"

#include "agent/logs.hpp"
#include "engines/engine.hpp"
#include "util/log.hpp"

namespace berth::agent {

namespace asio = boost::asio;

namespace {
Options with_defaults(Options options) {
  if (!options.find_engine)
    options.find_engine = [](const std::string& name) { return engines::find_engine(name); };
  return options;
}
}  // namespace

asio::awaitable<http::Response> Agent::serve_logs(const http::ServerRequest& request) {
  return agent::serve_logs(store_, docker_, reconciler_, request);
}

Agent::Agent(asio::any_io_executor executor, store::Store& store, docker::Docker& docker,
             Options options)
    : store_(store),
      docker_(docker),
      options_(with_defaults(std::move(options))),
      session_(executor, store, docker, options_,
               {.registered = [this] { reconciler_.registered(); },
                .fence_changed = [this] { reconciler_.fence_changed(); },
                .catch_up = [this] { return reconciler_.catch_up(); }}),
      reconciler_(executor, store, docker, session_, options_),
      tasks_(executor, store, docker, options_, *this),
      scope_(executor) {}

Agent::~Agent() = default;

asio::awaitable<void> Agent::run() {
  scope_.spawn(boot(), "agent " + options_.name);
  co_return;
}

asio::awaitable<void> Agent::boot() {
  co_await session_.start();
  reconciler_.start();
  tasks_.start();
}

asio::awaitable<bool> Agent::wait_registered(std::chrono::steady_clock::duration timeout) {
  return session_.wait_registered(timeout);
}

asio::awaitable<void> Agent::shutdown() {
  // The session first: its catch-up after a fence reconciles too.
  co_await scope_.stop();
  co_await session_.stop();
  co_await tasks_.stop();
  co_await reconciler_.stop();
}

}  // namespace berth::agent
