// Addresses, CIDR blocks and ranges as operators write them, and whole network settings
// (PUT /v1/network bodies).
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "model/model.hpp"
#include "netpool/netpool.hpp"

using namespace berth;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  if (auto ip = netpool::parse_ipv4(text);
      ip && netpool::parse_ipv4(netpool::format_ipv4(*ip)) != ip)
    __builtin_trap();
  if (auto subnet = netpool::parse_cidr(text); subnet && subnet->prefix > 32) __builtin_trap();
  if (auto range = netpool::parse_exclude(text); range && range->first > range->second)
    __builtin_trap();
  auto body = nlohmann::json::parse(text, nullptr, false);
  if (body.is_discarded()) return 0;
  model::NetworkConfig config;
  try {
    config = body.get<model::NetworkConfig>();
  } catch (const nlohmann::json::exception&) {
    return 0;  // the handler answers 422
  }
  if (!netpool::validate(config).empty()) return 0;
  auto chosen = netpool::choose(config, {});
  if (chosen && !netpool::assignable(config, *netpool::parse_ipv4(*chosen))) __builtin_trap();
  // On a small subnet, the same as trying every address in turn.
  auto subnet = netpool::parse_cidr(config.subnet);
  if (subnet->prefix >= 20) {
    std::optional<std::string> first;
    for (uint32_t a = subnet->network + 1; a < subnet->broadcast() && !first; ++a)
      if (netpool::assignable(config, a)) first = netpool::format_ipv4(a);
    if (first != chosen) __builtin_trap();
  }
  return 0;
}
