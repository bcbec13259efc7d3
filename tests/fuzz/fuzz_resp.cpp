// Redis's replies (RESP, INFO) as a hostile instance could send them.
#include <cstdint>
#include <string>
#include <vector>

#include "engines/redis/resp.hpp"

using namespace berth::engines;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  resp::complete_replies(bytes);
  auto probe = resp::read_probe(bytes);
  if (probe.healthy && !bytes.starts_with("+OK\r\n")) __builtin_trap();
  if (probe.keys < 0) __builtin_trap();
  resp::info_field(bytes, "role");
  resp::number(bytes);
  // Any command berth encodes is one whole reply-shaped value, whatever its arguments hold.
  std::vector<std::string> args;
  for (size_t start = 0; start <= bytes.size();) {
    auto end = bytes.find('\0', start);
    if (end == std::string_view::npos) end = bytes.size();
    args.emplace_back(bytes.substr(start, end - start));
    start = end + 1;
  }
  if (resp::complete_replies(resp::command(args)) != 1) __builtin_trap();
  return 0;
}
