// A small client of Tarantool's binary protocol (iproto): greeting, chap-sha1 authentication
// and CALL of a Lua function, all in one round trip after the greeting. The bytes: wire.hpp.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "engines/tarantool/wire.hpp"

namespace berth::engines::iproto {

// Authenticates and calls function(args); returns its results (an array of return values).
// Throws std::runtime_error with Tarantool's message when it refuses, util::ExchangeError when
// it cannot be reached in time.
boost::asio::awaitable<Value> call(boost::asio::any_io_executor executor, const std::string& ip,
                                   int port, const std::string& user, const std::string& password,
                                   const std::string& function, const std::vector<Value>& args,
                                   std::chrono::milliseconds timeout);

}  // namespace berth::engines::iproto
