// A small client of Tarantool's binary protocol (iproto): greeting, chap-sha1 authentication
// and CALL of a Lua function, all in one round trip after the greeting. Values are msgpack.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace berth::engines::iproto {

// A decoded msgpack value: enough for what berth's Lua helpers take and return.
struct Value {
  enum class Kind { Nil, Bool, Int, Double, String, Array, Map } kind = Kind::Nil;
  bool boolean = false;
  int64_t integer = 0;
  double real = 0;
  std::string string;
  std::vector<Value> items;  // an array's elements; a map's keys and values, alternating

  static Value of(bool b);
  static Value of(int64_t i);
  static Value of(const std::string& s);
  int64_t as_int() const;  // Int or Double; 0 otherwise
  bool as_bool() const { return kind == Kind::Bool && boolean; }
  const Value& operator[](size_t i) const;  // an array element, Nil when out of range
};

std::string encode(const Value& value);
// Decodes one value at data; advances data.
Value decode(const char*& data, const char* end);

// The chap-sha1 scramble of password with the salt from a 128-byte greeting.
std::string scramble(const std::string& greeting, const std::string& password);

// Authenticates and calls function(args); returns its results (an array of return values).
// Throws std::runtime_error with Tarantool's message when it refuses, util::ExchangeError when
// it cannot be reached in time.
boost::asio::awaitable<Value> call(boost::asio::any_io_executor executor, const std::string& ip,
                                   int port, const std::string& user, const std::string& password,
                                   const std::string& function, const std::vector<Value>& args,
                                   std::chrono::milliseconds timeout);

}  // namespace berth::engines::iproto
