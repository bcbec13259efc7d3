#include "engines/memcached/replies.hpp"

#include <algorithm>
#include <charconv>

namespace berth::engines::memcached {

std::map<std::string, std::string> parse_stats(std::string_view reply) {
  std::map<std::string, std::string> stats;
  while (!reply.empty()) {
    auto eol = reply.find('\n');
    std::string_view line = reply.substr(0, eol);
    reply.remove_prefix(eol == std::string_view::npos ? reply.size() : eol + 1);
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (!line.starts_with("STAT ")) continue;
    auto space = line.find(' ', 5);
    if (space == std::string_view::npos) continue;
    stats[std::string(line.substr(5, space - 5))] = std::string(line.substr(space + 1));
  }
  return stats;
}

std::string binary_request(uint8_t opcode, const std::string& key, const std::string& value) {
  std::string h(24, '\0');
  h[0] = static_cast<char>(0x80);
  h[1] = static_cast<char>(opcode);
  h[2] = static_cast<char>(key.size() >> 8);
  h[3] = static_cast<char>(key.size() & 0xff);
  uint32_t body = static_cast<uint32_t>(key.size() + value.size());
  for (int i = 0; i < 4; ++i) h[8 + i] = static_cast<char>((body >> (24 - 8 * i)) & 0xff);
  return h + key + value;
}

std::vector<BinaryResponse> binary_responses(std::string_view buf, bool* done) {
  constexpr uint8_t kResponseMagic = 0x81, kStat = 0x10;
  std::vector<BinaryResponse> out;
  size_t pos = 0;
  *done = false;
  auto byte = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(buf[i])); };
  while (!*done && buf.size() - pos >= 24) {
    uint32_t key_length = byte(pos + 2) << 8 | byte(pos + 3);
    uint32_t extras = byte(pos + 4);
    uint32_t body =
        byte(pos + 8) << 24 | byte(pos + 9) << 16 | byte(pos + 10) << 8 | byte(pos + 11);
    if (byte(pos) != kResponseMagic || uint64_t{extras} + key_length > body) {
      *done = true;  // not memcached: nothing more worth waiting for
      break;
    }
    if (buf.size() - pos - 24 < body) break;
    BinaryResponse r;
    r.opcode = static_cast<uint8_t>(byte(pos + 1));
    r.status = static_cast<uint16_t>(byte(pos + 6) << 8 | byte(pos + 7));
    r.key = buf.substr(pos + 24 + extras, key_length);
    r.value = buf.substr(pos + 24 + extras + key_length, body - extras - key_length);
    if (r.status != 0 || (r.opcode == kStat && r.key.empty())) *done = true;
    out.push_back(std::move(r));
    pos += 24 + body;
  }
  return out;
}

ProbeResult read_probe(const std::map<std::string, std::string>& stats) {
  ProbeResult result;
  if (!stats.count("version")) {
    result.message = "stats not answered";
    return result;
  }
  auto number = [&](const char* name) -> int64_t {
    auto it = stats.find(name);
    int64_t value = 0;
    if (it != stats.end()) {
      auto& text = it->second;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
      if (ec != std::errc()) value = 0;
    }
    return std::clamp<int64_t>(value, 0,
                               int64_t{1} << 56);  // so that a sum of them cannot overflow
  };
  result.healthy = true;
  result.role = "primary";
  result.memory_used_bytes = number("bytes");
  result.keys = number("curr_items");
  // The probe's own connection is not a client.
  result.connections = std::max<int64_t>(0, number("curr_connections") - 1);
  result.operations = number("cmd_get") + number("cmd_set") + number("cmd_touch") +
                      number("delete_hits") + number("delete_misses") + number("incr_hits") +
                      number("incr_misses") + number("decr_hits") + number("decr_misses");
  return result;
}

}  // namespace berth::engines::memcached
