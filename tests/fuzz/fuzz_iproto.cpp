// Tarantool's replies (iproto packets of msgpack) as a hostile instance could send them.
#include <cstdint>
#include <stdexcept>
#include <string>

#include "engines/tarantool/wire.hpp"

using namespace berth::engines::iproto;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  int counted = complete_packets(bytes);
  try {
    auto responses = parse_packets(bytes);
    // What the exchange waited for is what gets read.
    if (counted >= 0 && responses.size() != static_cast<size_t>(counted)) __builtin_trap();
  } catch (const std::runtime_error&) {
  }
  try {
    const char* p = bytes.data();
    Value value = decode(p, bytes.data() + bytes.size());
    if (p > bytes.data() + bytes.size()) __builtin_trap();
    // Encoding what was decoded gives bytes that decode to the same value.
    std::string again = encode(value);
    const char* q = again.data();
    if (encode(decode(q, again.data() + again.size())) != again) __builtin_trap();
    value.as_int();
  } catch (const std::runtime_error&) {
  }
  try {
    scramble(bytes, "a password");
  } catch (const std::runtime_error&) {
  }
  return 0;
}
