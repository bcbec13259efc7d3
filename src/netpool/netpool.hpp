// The address pool: which IPv4 addresses of the cluster subnet may be handed out, and which
// free one to take next. Pure functions; the reservation itself is one etcd transaction per
// address (a key created only if absent), made by the caller.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "model/model.hpp"

namespace berth::netpool {

std::optional<uint32_t> parse_ipv4(const std::string& text);
std::string format_ipv4(uint32_t address);

struct Subnet {
  uint32_t network = 0;
  int prefix = 0;
  uint32_t broadcast() const {
    return prefix == 0 ? ~0u : prefix >= 32 ? network : network | (~0u >> prefix);
  }
  bool contains(uint32_t a) const { return (a & mask()) == network; }
  uint32_t mask() const { return prefix == 0 ? 0 : ~0u << (32 - prefix); }
};
std::optional<Subnet> parse_cidr(const std::string& text);

// An exclude entry as the inclusive range of addresses it names: "A", "A-B" or a CIDR block
// "A/N" (N from 0 to 32; host bits of A are ignored). nullopt when it is none of these.
std::optional<std::pair<uint32_t, uint32_t>> parse_exclude(const std::string& text);

// Empty when the settings are usable, else what is wrong, naming the field.
std::string validate(const model::NetworkConfig& config);

// Whether the address may ever be handed out: inside the subnet, not the network, broadcast
// or gateway address, not excluded.
bool assignable(const model::NetworkConfig& config, uint32_t address);

// The lowest assignable address not in taken; nullopt when the pool is exhausted.
std::optional<std::string> choose(const model::NetworkConfig& config,
                                  const std::set<std::string>& taken);

}  // namespace berth::netpool
