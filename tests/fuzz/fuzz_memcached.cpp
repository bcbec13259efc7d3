// memcached's replies, text and binary, as a hostile instance could send them.
#include <cstdint>
#include <string>

#include "engines/memcached/replies.hpp"

using namespace berth::engines;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto stats = memcached::parse_stats(bytes);
  auto probe = memcached::read_probe(stats);
  if (probe.operations < 0 || probe.connections < 0) __builtin_trap();
  bool done = false;
  size_t held = 0;
  for (auto& r : memcached::binary_responses(bytes, &done))
    held += 24 + r.key.size() + r.value.size();
  if (held > bytes.size()) __builtin_trap();
  return 0;
}
