// Runs a program as a child process and awaits its exit without blocking the event loop
// (its output is read through a pipe). For work that must not live in our address space.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <string>
#include <vector>

namespace berth::util {

struct ProcessResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

boost::asio::awaitable<ProcessResult> run_process(boost::asio::any_io_executor executor,
                                                  std::vector<std::string> argv);

// The path of the running binary (for re-running ourselves with other arguments).
std::string self_executable();

}  // namespace berth::util
