// iproto's bytes: msgpack values, packets and the chap-sha1 scramble. Pure, and hardened for
// replies from outside: nothing here reads past its buffer or recurses without a bound.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
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
  int64_t as_int() const;  // Int or Double (clamped to int64); 0 otherwise
  bool as_bool() const { return kind == Kind::Bool && boolean; }
  const Value& operator[](size_t i) const;  // an array element, Nil when out of range
};

// Nesting past this many arrays and maps is refused: berth's helpers return two levels.
constexpr int kMaxDepth = 32;

std::string encode(const Value& value);
// Decodes one value at data and advances data; throws std::runtime_error when the bytes up to
// end are not one whole value or nest deeper than kMaxDepth.
Value decode(const char*& data, const char* end);

// Request types and body keys (Tarantool's iproto_constants.h).
constexpr uint8_t kAuth = 0x07, kCall = 0x0a;
constexpr uint8_t kTuple = 0x21, kFunctionName = 0x22, kUserName = 0x23;
constexpr size_t kGreetingSize = 128;

// One request: its length as a 5-byte msgpack uint32, then the header map and the body.
std::string packet(uint8_t type, uint64_t sync, const std::string& body);

// Whole packets at the start of buf; -1 when buf does not start like iproto.
int complete_packets(std::string_view buf);

struct Response {
  uint64_t code = 0;  // 0: done; otherwise an error code
  Value data;
  std::string error;
};
// The whole packets at the start of buf, decoded; throws std::runtime_error on a packet that
// is not a header map and an optional body map.
std::vector<Response> parse_packets(std::string_view buf);

// The chap-sha1 scramble of password with the salt from a 128-byte greeting; throws
// std::runtime_error when the greeting is shorter.
std::string scramble(std::string_view greeting, const std::string& password);

}  // namespace berth::engines::iproto
