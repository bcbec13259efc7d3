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
  boost::beast::tcp_stream stream(executor);
  stream.expires_after(timeout);
  std::string received;
  try {
    tcp::endpoint ep(asio::ip::make_address(host), static_cast<unsigned short>(port));
    co_await stream.async_connect(ep, asio::use_awaitable);
    stream.socket().set_option(tcp::no_delay(true));
    co_await asio::async_write(stream, asio::buffer(request), asio::use_awaitable);
    char buf[8192];
    while (!complete(received)) {
      size_t n = co_await stream.async_read_some(asio::buffer(buf), asio::use_awaitable);
      received.append(buf, n);
    }
  } catch (const boost::system::system_error& e) {
    throw ExchangeError(host + ":" + std::to_string(port) + ": " + e.code().message());
  }
  co_return received;
}

asio::awaitable<std::string> tcp_greeted_exchange(
    asio::any_io_executor executor, const std::string& host, int port,
    const std::function<size_t(const std::string&)>& greeting_length,
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
    size_t greeting = 0;
    while ((greeting = greeting_length(received)) == 0) {
      size_t n = co_await stream.async_read_some(asio::buffer(buf), asio::use_awaitable);
      received.append(buf, n);
    }
    std::string request = request_for(received.substr(0, greeting));
    received.erase(0, greeting);
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

}  // namespace berth::util
