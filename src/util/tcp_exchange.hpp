// One request/response exchange over a plain TCP connection with a deadline: the building
// block of every health probe that speaks an engine's own protocol.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace berth::util {

struct ExchangeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Connects to host:port, writes request, then reads until complete(received) is true.
// Throws ExchangeError on connection failure, early close or when the deadline passes.
boost::asio::awaitable<std::string> tcp_exchange(
    boost::asio::any_io_executor executor, const std::string& host, int port,
    const std::string& request, const std::function<bool(const std::string&)>& complete,
    std::chrono::milliseconds timeout);

// For protocols where the server speaks first: reads until greeting_length says how long its
// greeting is (nullopt: not all here yet), writes request_for(greeting), then reads until
// complete(reply). Returns the reply alone.
boost::asio::awaitable<std::string> tcp_greeted_exchange(
    boost::asio::any_io_executor executor, const std::string& host, int port,
    const std::function<std::optional<size_t>(const std::string&)>& greeting_length,
    const std::function<std::string(const std::string&)>& request_for,
    const std::function<bool(const std::string&)>& complete, std::chrono::milliseconds timeout);

// Connects to host:port, writes request, then hands each piece received to on_data until it
// returns false (it has all it wants); what on_data puts in `send` is written before reading
// on. Throws ExchangeError on connection failure, on a close before on_data is satisfied, or
// when the deadline (for the whole exchange) passes.
boost::asio::awaitable<void> tcp_stream(
    boost::asio::any_io_executor executor, const std::string& host, int port,
    const std::string& request,
    const std::function<bool(std::string_view data, std::string& send)>& on_data,
    std::chrono::milliseconds timeout);

}  // namespace berth::util
