#include "netpool/netpool.hpp"

#include <algorithm>
#include <cstdio>
#include <vector>

namespace berth::netpool {

std::optional<uint32_t> parse_ipv4(const std::string& text) {
  unsigned a, b, c, d;
  char tail;
  if (std::sscanf(text.c_str(), "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) != 4) return std::nullopt;
  if (a > 255 || b > 255 || c > 255 || d > 255) return std::nullopt;
  return (a << 24) | (b << 16) | (c << 8) | d;
}

std::string format_ipv4(uint32_t x) {
  return std::to_string(x >> 24) + "." + std::to_string((x >> 16) & 255) + "." +
         std::to_string((x >> 8) & 255) + "." + std::to_string(x & 255);
}

namespace {

// address/prefix with the prefix in [min_prefix, max_prefix]; the network is the address masked.
std::optional<Subnet> parse_block(const std::string& text, int min_prefix, int max_prefix) {
  auto slash = text.find('/');
  if (slash == std::string::npos) return std::nullopt;
  auto address = parse_ipv4(text.substr(0, slash));
  std::string bits = text.substr(slash + 1);
  if (!address || bits.empty() || bits.size() > 2 ||
      bits.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  int prefix = std::stoi(bits);
  if (prefix < min_prefix || prefix > max_prefix) return std::nullopt;
  Subnet s{0, prefix};
  s.network = *address & s.mask();
  return s;
}

}  // namespace

std::optional<Subnet> parse_cidr(const std::string& text) {
  return parse_block(text, 8, 30);
}

std::optional<std::pair<uint32_t, uint32_t>> parse_exclude(const std::string& text) {
  if (text.find('/') != std::string::npos) {
    // A CIDR block, as network people write it: every address of it, network to broadcast.
    auto block = parse_block(text, 0, 32);
    if (!block) return std::nullopt;
    return std::pair{block->network, block->broadcast()};
  }
  auto dash = text.find('-');
  auto first = parse_ipv4(text.substr(0, dash));
  if (!first) return std::nullopt;
  if (dash == std::string::npos) return std::pair{*first, *first};
  auto last = parse_ipv4(text.substr(dash + 1));
  if (!last || *last < *first) return std::nullopt;
  return std::pair{*first, *last};
}

std::string validate(const model::NetworkConfig& config) {
  auto subnet = parse_cidr(config.subnet);
  if (!subnet) return "subnet: '" + config.subnet + "' is not an IPv4 CIDR with a /8 to /30 prefix";
  auto gateway = parse_ipv4(config.gateway);
  if (!gateway) return "gateway: '" + config.gateway + "' is not an IPv4 address";
  if (!subnet->contains(*gateway) || *gateway == subnet->network || *gateway == subnet->broadcast())
    return "gateway: " + config.gateway + " is not a host address of " + config.subnet;
  for (auto& e : config.exclude)
    if (!parse_exclude(e))
      return "exclude: '" + e + "' is not an address, a range A-B or a CIDR block A/N";
  return {};
}

bool assignable(const model::NetworkConfig& config, uint32_t address) {
  auto subnet = parse_cidr(config.subnet);
  if (!subnet || !subnet->contains(address)) return false;
  if (address == subnet->network || address == subnet->broadcast()) return false;
  if (auto gateway = parse_ipv4(config.gateway); gateway && *gateway == address) return false;
  for (auto& e : config.exclude)
    if (auto r = parse_exclude(e); r && address >= r->first && address <= r->second) return false;
  return true;
}

std::optional<std::string> choose(const model::NetworkConfig& config,
                                  const std::set<std::string>& taken) {
  auto subnet = parse_cidr(config.subnet);
  if (!subnet) return std::nullopt;
  // Excluded ranges are stepped over whole, not address by address: a /8 with most of it
  // excluded is still one pass over the ranges.
  std::vector<std::pair<uint32_t, uint32_t>> excluded;
  if (auto gateway = parse_ipv4(config.gateway)) excluded.emplace_back(*gateway, *gateway);
  for (auto& e : config.exclude)
    if (auto r = parse_exclude(e)) excluded.push_back(*r);
  std::sort(excluded.begin(), excluded.end());
  size_t next = 0;  // the ranges before it start at or below the address tried
  for (uint64_t a = uint64_t{subnet->network} + 1; a < subnet->broadcast(); ++a) {
    for (; next < excluded.size() && excluded[next].first <= a; ++next)
      if (excluded[next].second >= a) a = uint64_t{excluded[next].second} + 1;
    if (a >= subnet->broadcast()) break;
    std::string text = format_ipv4(static_cast<uint32_t>(a));
    if (!taken.count(text)) return text;
  }
  return std::nullopt;
}

}  // namespace berth::netpool
