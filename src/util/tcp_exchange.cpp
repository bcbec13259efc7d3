#include "util/tcp_exchange.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core/tcp_stream.hpp>

namespace berth::util {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

asio::awaitable<std::string> tcp_exchange(asio::any_io_executor executor, const std::string& host,
                                          int port, const std::string& request,
                                          const std::function<bool(const std::string&)>& complete,
                                          std::chrono::milliseconds timeout) {
  // A protocol where the client speaks first: an empty greeting. Named functions, not
  // temporaries, across the co_await (g++ 12).
  std::function<std::optional<size_t>(const std::string&)> no_greeting = [](const std::string&) {
    return std::optional<size_t>(0);
  };
  std::function<std::string(const std::string&)> request_for = [&request](const std::string&) {
    return request;
  };
  co_return co_await tcp_greeted_exchange(executor, host, port, no_greeting, request_for, complete,
                                          timeout);
}

asio::awaitable<std::string> tcp_greeted_exchange(
    asio::any_io_executor executor, const std::string& host, int port,
    const std::function<std::optional<size_t>(const std::string&)>& greeting_length,
    const std::function<std::string(const std::string&)>& request_for,
    const std::function<bool(const std::string&)>& complete, std::chrono::milliseconds timeout) {
  boost::beast::tcp_stream stream(executor);
  stream.expires_after(timeout);
  std::string received;
  try {
    tcp::endpoint ep(asio::ip::make_address(host), static_cast<unsigned short>(port));
    co_await stream.async_connect(ep, asio::use_awaitable);
    stream.socket().set_option(tcp::no_delay(true));
    char buf[8192];
    std::optional<size_t> greeting;
    while (!(greeting = greeting_length(received))) {
      size_t n = co_await stream.async_read_some(asio::buffer(buf), asio::use_awaitable);
      received.append(buf, n);
    }
    std::string request = request_for(received.substr(0, *greeting));
    received.erase(0, *greeting);
    co_await asio::async_write(stream, asio::buffer(request), asio::use_awaitable);
    while (!complete(received)) {
      size_t n = co_await stream.async_read_some(asio::buffer(buf), asio::use_awaitable);
      received.append(buf, n);
    }
  } catch (const boost::system::system_error& e) {
    throw ExchangeError(host + ":" + std::to_string(port) + ": " + e.code().message());
  }
  co_return received;
}

asio::awaitable<void> tcp_stream(asio::any_io_executor executor, const std::string& host, int port,
                                 const std::string& request,
                                 const std::function<bool(std::string_view, std::string&)>& on_data,
                                 std::chrono::milliseconds timeout) {
  boost::beast::tcp_stream stream(executor);
  stream.expires_after(timeout);
  try {
    tcp::endpoint ep(asio::ip::make_address(host), static_cast<unsigned short>(port));
    co_await stream.async_connect(ep, asio::use_awaitable);
    co_await asio::async_write(stream, asio::buffer(request), asio::use_awaitable);
    std::vector<char> buf(1 << 18);
    std::string send;
    for (;;) {
      size_t n = co_await stream.async_read_some(asio::buffer(buf), asio::use_awaitable);
      bool more = on_data(std::string_view(buf.data(), n), send);
      if (!send.empty()) {
        co_await asio::async_write(stream, asio::buffer(send), asio::use_awaitable);
        send.clear();
      }
      if (!more) break;
    }
  } catch (const boost::system::system_error& e) {
    throw ExchangeError(host + ":" + std::to_string(port) + ": " + e.code().message());
  }
}

}  // namespace berth::util
