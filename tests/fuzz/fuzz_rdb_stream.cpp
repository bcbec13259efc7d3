// What a Redis master sends a replica after SYNC, cut in pieces as a network could cut it:
// the RDB handed on must not depend on where the cuts fall.
#include <cstdint>
#include <stdexcept>
#include <string>

#include "engines/redis/rdb_stream.hpp"

using berth::engines::RdbStream;

namespace {
struct Outcome {
  bool done = false, failed = false;
  std::string payload;
};

Outcome run(int replies, std::string_view bytes, size_t piece) {
  Outcome out;
  RdbStream stream(replies, [&](std::string_view p) { out.payload.append(p); });
  try {
    for (size_t at = 0; at < bytes.size() && !stream.done(); at += piece)
      stream.feed(bytes.substr(at, piece));
  } catch (const std::runtime_error&) {
    out.failed = true;
  }
  out.done = stream.done();
  if (static_cast<size_t>(stream.payload_bytes()) != out.payload.size()) __builtin_trap();
  return out;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  int replies = data[0] % 4;
  size_t piece = 1 + data[1] % 64;
  std::string_view bytes(reinterpret_cast<const char*>(data) + 2, size - 2);
  Outcome whole = run(replies, bytes, bytes.size() + 1);
  Outcome cut = run(replies, bytes, piece);
  if (whole.failed != cut.failed || whole.done != cut.done) __builtin_trap();
  if (whole.done && whole.payload != cut.payload) __builtin_trap();
  return 0;
}
