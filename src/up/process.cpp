#include "up/process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_future.hpp>
#include <filesystem>
#include <fstream>
#include <thread>

#include "docker/client.hpp"
#include "store/etcd.hpp"
#include "util/encoding.hpp"
#include "util/log.hpp"

namespace berth::up {

namespace asio = boost::asio;
using namespace std::chrono_literals;

std::string hostname() {
  char buf[256] = {};
  gethostname(buf, sizeof buf - 1);
  return buf;
}

// Runs the loop until SIGINT/SIGTERM, then runs on_stop (which may await) and stops.
void run_until_signal(asio::io_context& io, std::function<asio::awaitable<void>()> on_stop) {
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (ec) return;
    util::log("stopping");
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          if (on_stop) co_await on_stop();
          io.stop();
        },
        asio::detached);
  });
  io.run();
}

// Reports a startup failure from a coroutine and stops the loop.
std::function<void(std::exception_ptr)> stop_on_error(asio::io_context& io, int* exit_code) {
  return [&io, exit_code](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      util::log("fatal: {}", ex.what());
    }
    *exit_code = 1;
    io.stop();
  };
}

void Child::start(const std::vector<std::string>& argv, const std::string& log_file) {
  pid = fork();
  if (pid == 0) {
    setsid();
    int fd = open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
}

bool Child::running() const {
  return pid > 0 && waitpid(pid, nullptr, WNOHANG) == 0;
}

void Child::stop() {
  if (pid <= 0) return;
  kill(pid, SIGTERM);
  for (int i = 0; i < 500 && waitpid(pid, nullptr, WNOHANG) == 0; ++i)
    std::this_thread::sleep_for(10ms);
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  pid = -1;
}

// Waits (before the event loop runs) until a probe coroutine says yes or the time is up.
bool wait_ready(std::function<asio::awaitable<bool>(asio::any_io_executor)> probe,
                std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    asio::io_context io;
    auto f = asio::co_spawn(io, probe(io.get_executor()), asio::use_future);
    io.run();
    try {
      if (f.get()) return true;
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

bool docker_answers(const std::string& socket) {
  return wait_ready(
      [&](asio::any_io_executor ex) -> asio::awaitable<bool> {
        docker::Client d(ex, socket);
        co_return co_await d.ping();
      },
      1s);
}

bool etcd_answers(const std::string& endpoint, const http::TlsOptions& tls,
                  std::chrono::seconds timeout, const store::EtcdLogin& login) {
  return wait_ready(
      [&](asio::any_io_executor ex) -> asio::awaitable<bool> {
        store::EtcdStore s(ex, {endpoint}, tls, login);
        co_await s.get("/berth/health-check");
        co_return true;
      },
      timeout);
}

http::TlsOptions etcd_tls_options(const EtcdAccessFlags& flags) {
  return {flags.ca, flags.cert, flags.key};
}

std::string password_from_file(const std::string& path, bool make_when_missing) {
  std::ifstream in(path);
  if (!in) {
    if (!make_when_missing || std::filesystem::exists(path))
      throw std::runtime_error("cannot read the password file " + path);
    std::string made = util::random_hex(24);
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) throw std::runtime_error("cannot make the password file " + path);
    std::string line = made + "\n";
    bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
    ::close(fd);
    if (!ok) throw std::runtime_error("cannot write the password file " + path);
    return made;
  }
  std::string password;
  std::getline(in, password);
  if (password.empty()) throw std::runtime_error("the password file " + path + " is empty");
  return password;
}

store::EtcdLogin etcd_login(const EtcdAccessFlags& flags) {
  if (flags.user.empty()) return {};
  return {flags.user, password_from_file(flags.password_file, false)};
}

}  // namespace berth::up
