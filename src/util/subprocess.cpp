#include "util/subprocess.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <filesystem>
#include <stdexcept>

namespace berth::util {

namespace asio = boost::asio;

std::string self_executable() {
  return std::filesystem::read_symlink("/proc/self/exe").string();
}

asio::awaitable<ProcessResult> run_process(asio::any_io_executor executor,
                                           std::vector<std::string> argv) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    dup2(fds[1], 1);
    dup2(fds[1], 2);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(fds[1]);
  asio::posix::stream_descriptor out(executor, fds[0]);
  ProcessResult result;
  char buf[4096];
  for (;;) {
    auto [ec, n] =
        co_await out.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
    if (n > 0) result.output.append(buf, n);
    if (ec) break;  // EOF: the child closed its output, it is exiting
  }
  // The child has closed its end; reap it, yielding while it finishes.
  asio::steady_timer pause(executor);
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    pause.expires_after(std::chrono::milliseconds(5));
    co_await pause.async_wait(asio::use_awaitable);
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  co_return result;
}

}  // namespace berth::util
