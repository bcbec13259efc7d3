// Test support: runs one coroutine to completion on a fresh event loop. Detached helpers it
// spawned (watches, streams) stop with the loop when the body returns.
#pragma once

#include <boost/asio.hpp>
#include <functional>

namespace berth::test {

using Executor = boost::asio::any_io_executor;

inline void run(std::function<boost::asio::awaitable<void>(Executor)> body) {
  boost::asio::io_context io;
  std::exception_ptr error;
  boost::asio::co_spawn(io, body(io.get_executor()), [&](std::exception_ptr e) {
    error = e;
    io.stop();
  });
  io.run();
  if (error) std::rethrow_exception(error);
}

}  // namespace berth::test
