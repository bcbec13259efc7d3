#include "engines/tarantool/iproto.hpp"

#include <stdexcept>

#include "util/tcp_exchange.hpp"

namespace berth::engines::iproto {

boost::asio::awaitable<Value> call(boost::asio::any_io_executor executor, const std::string& ip,
                                   int port, const std::string& user, const std::string& password,
                                   const std::string& function, const std::vector<Value>& args,
                                   std::chrono::milliseconds timeout) {
  auto request_for = [&](const std::string& greeting) {
    Value auth{.kind = Value::Kind::Map};
    auth.items = {Value::of(int64_t{kUserName}), Value::of(user), Value::of(int64_t{kTuple})};
    Value tuple{.kind = Value::Kind::Array};
    tuple.items = {Value::of(std::string("chap-sha1")), Value::of(scramble(greeting, password))};
    auth.items.push_back(tuple);
    Value call_body{.kind = Value::Kind::Map};
    Value call_args{.kind = Value::Kind::Array};
    call_args.items = args;
    call_body.items = {Value::of(int64_t{kFunctionName}), Value::of(function),
                       Value::of(int64_t{kTuple}), call_args};
    return packet(kAuth, 1, encode(auth)) + packet(kCall, 2, encode(call_body));
  };
  auto reply = co_await util::tcp_greeted_exchange(
      executor, ip, port,
      [](const std::string& b) {
        return b.size() >= kGreetingSize ? std::optional<size_t>(kGreetingSize) : std::nullopt;
      },
      request_for,
      [](const std::string& b) {
        int n = complete_packets(b);
        return n < 0 || n >= 2;
      },
      timeout);
  auto responses = parse_packets(reply);
  for (auto& r : responses)
    if (r.code != 0) throw std::runtime_error(r.error.empty() ? "iproto: refused" : r.error);
  if (responses.size() < 2) throw std::runtime_error("iproto: short reply");
  co_return responses[1].data;
}

}  // namespace berth::engines::iproto
