// The plumbing of a long-running role (server, agent, up): running until a signal, failing a
// start loudly, a child process of its own, and waiting for a service to answer.
#pragma once

#include <sys/types.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <exception>
#include <functional>
#include <string>
#include <vector>

#include "http/http.hpp"
#include "store/etcd.hpp"
#include "up/roles.hpp"

namespace berth::up {

std::string hostname();

// Runs the loop until SIGINT/SIGTERM, then runs on_stop (which may await) and stops.
void run_until_signal(boost::asio::io_context& io,
                      std::function<boost::asio::awaitable<void>()> on_stop);

// Reports a startup failure from a coroutine and stops the loop.
std::function<void(std::exception_ptr)> stop_on_error(boost::asio::io_context& io, int* exit_code);

// A child process that is ours to stop (the local etcd of `berth up`).
struct Child {
  pid_t pid = -1;
  void start(const std::vector<std::string>& argv, const std::string& log_file);
  bool running() const;
  void stop();
};

// Waits (before the event loop runs) until a probe coroutine says yes or the time is up.
bool wait_ready(std::function<boost::asio::awaitable<bool>(boost::asio::any_io_executor)> probe,
                std::chrono::seconds timeout);
bool docker_answers(const std::string& socket);
bool etcd_answers(const std::string& endpoint, const http::TlsOptions& tls,
                  std::chrono::seconds timeout, const store::EtcdLogin& login = {});

http::TlsOptions etcd_tls_options(const EtcdAccessFlags& flags);
// The etcd user and password (read from its file) the flags name; none when they name none.
store::EtcdLogin etcd_login(const EtcdAccessFlags& flags);
// A password file's one line, made with a random password (mode 0600) when missing.
std::string password_from_file(const std::string& path, bool make_when_missing);

}  // namespace berth::up
