// memcached's bytes: the text protocol's "stats" reply, the binary protocol's SASL and STAT
// exchange, and what a probe reads from the stats. Pure, and safe on any reply.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "engines/probe.hpp"

namespace berth::engines::memcached {

// "STAT name value" lines, by name.
std::map<std::string, std::string> parse_stats(std::string_view reply);

// A binary protocol request: a 24-byte header, then the key and the value.
std::string binary_request(uint8_t opcode, const std::string& key, const std::string& value);

struct BinaryResponse {
  uint8_t opcode = 0;
  uint16_t status = 0;
  std::string key, value;
};
// The whole responses at the start of buf; *done when no more are coming (an error status,
// the empty key that ends the stats, or bytes that are not a response).
std::vector<BinaryResponse> binary_responses(std::string_view buf, bool* done);

// A probe's view of the stats: healthy when they name a version.
ProbeResult read_probe(const std::map<std::string, std::string>& stats);

}  // namespace berth::engines::memcached
